//! The chart of accounts.
//!
//! Each programme's appropriation is tracked through a fixed set of accounts.
//! `programme_funding/<P>` is the source (credit-normal); every other account
//! is a bucket holding part of that money (debit-normal): still available,
//! committed to vouchers, owed to a provider, paid, lapsed, or to be
//! recovered. So at every instant, for each programme,
//! `-funding = available + outstanding + payable + payout_pending + paid + lapsed + receivable`,
//! and the trial balance over all accounts is zero.
//!
//! An account's balance may never cross to the wrong side of zero (a bucket
//! cannot go negative; funding cannot turn positive). That floor is what
//! makes "no budget overrun" a database-enforced fact rather than a hope.

use std::fmt;

use crate::domain::ProgrammeCode;

/// Longest party key (a provider id, an enterprise USCC, a voucher id).
pub const PARTY_LEN_MAX: usize = 64;

/// What an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    /// The appropriation: credited when a programme is funded or topped up.
    ProgrammeFunding,
    /// Budget not yet committed to any voucher.
    BudgetAvailable,
    /// Face value of issued vouchers not yet redeemed, expired or revoked.
    VouchersOutstanding,
    /// Subsidy owed to a provider for redemptions not yet settled.
    ProviderPayable,
    /// Subsidy in an approved settlement batch, sent to the bank and not
    /// yet confirmed paid (a failed transfer goes back to payable).
    PayoutPending,
    /// Subsidy paid out to providers.
    Paid,
    /// Budget that lapsed unused when a programme closed.
    Lapsed,
    /// Paid subsidy found improper, to be recovered (追回).
    RecoveryReceivable,
}

/// Which side of zero an account's balance (debits − credits) lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormalSide {
    /// Balance ≥ 0.
    Debit,
    /// Balance ≤ 0.
    Credit,
}

impl NormalSide {
    /// +1 for debit-normal, −1 for credit-normal: `sign × balance ≥ 0` always.
    pub fn sign(self) -> i64 {
        match self {
            NormalSide::Debit => 1,
            NormalSide::Credit => -1,
        }
    }
}

impl AccountKind {
    pub const ALL: [AccountKind; 8] = [
        AccountKind::ProgrammeFunding,
        AccountKind::BudgetAvailable,
        AccountKind::VouchersOutstanding,
        AccountKind::ProviderPayable,
        AccountKind::PayoutPending,
        AccountKind::Paid,
        AccountKind::Lapsed,
        AccountKind::RecoveryReceivable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::ProgrammeFunding => "programme_funding",
            AccountKind::BudgetAvailable => "budget_available",
            AccountKind::VouchersOutstanding => "vouchers_outstanding",
            AccountKind::ProviderPayable => "provider_payable",
            AccountKind::PayoutPending => "payout_pending",
            AccountKind::Paid => "paid",
            AccountKind::Lapsed => "lapsed",
            AccountKind::RecoveryReceivable => "recovery_receivable",
        }
    }

    pub fn parse(text: &str) -> Option<AccountKind> {
        AccountKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    pub fn normal_side(self) -> NormalSide {
        match self {
            AccountKind::ProgrammeFunding => NormalSide::Credit,
            _ => NormalSide::Debit,
        }
    }

    /// Whether accounts of this kind are split per party (provider).
    pub fn has_party(self) -> bool {
        matches!(
            self,
            AccountKind::ProviderPayable
                | AccountKind::PayoutPending
                | AccountKind::Paid
                | AccountKind::RecoveryReceivable
        )
    }
}

/// One account: a kind, the programme it belongs to, and for per-party
/// kinds the party. Written `kind/programme[/party]`, e.g.
/// `provider_payable/ZS2026-01/0193…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Account {
    kind: AccountKind,
    programme: ProgrammeCode,
    party: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("unknown account kind {0:?}")]
    UnknownKind(String),
    #[error("invalid programme code in account name")]
    Programme,
    #[error("account kind {0} needs a party")]
    MissingParty(&'static str),
    #[error("account kind {0} has no party")]
    UnexpectedParty(&'static str),
    #[error("a party key has 1 to {PARTY_LEN_MAX} characters of A–Z, a–z, 0–9 and '-'")]
    Party,
    #[error("an account name is kind/programme[/party]")]
    Shape,
}

impl Account {
    /// A programme-level account (no party).
    pub fn programme(
        kind: AccountKind,
        programme: &ProgrammeCode,
    ) -> Result<Account, AccountError> {
        if kind.has_party() {
            return Err(AccountError::MissingParty(kind.as_str()));
        }
        Ok(Account {
            kind,
            programme: programme.clone(),
            party: None,
        })
    }

    /// A per-party account.
    pub fn party(
        kind: AccountKind,
        programme: &ProgrammeCode,
        party: &str,
    ) -> Result<Account, AccountError> {
        if !kind.has_party() {
            return Err(AccountError::UnexpectedParty(kind.as_str()));
        }
        let valid = (1..=PARTY_LEN_MAX).contains(&party.len())
            && party
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(AccountError::Party);
        }
        Ok(Account {
            kind,
            programme: programme.clone(),
            party: Some(party.to_string()),
        })
    }

    /// The programme-level account of `kind`. `kind` must be one without
    /// a party: naming one with a party is a bug, and stops the process.
    pub fn of_programme(kind: AccountKind, programme: &ProgrammeCode) -> Account {
        Account::programme(kind, programme).expect("a programme-level account kind")
    }

    /// The account of `kind` held for party `id` (a provider or an
    /// enterprise: a UUID is always a valid party). `kind` must be one with
    /// a party: naming one without is a bug, and stops the process.
    pub fn of_party(kind: AccountKind, programme: &ProgrammeCode, id: uuid::Uuid) -> Account {
        Account::party(kind, programme, &id.to_string()).expect("a per-party account kind")
    }

    pub fn parse(text: &str) -> Result<Account, AccountError> {
        let mut parts = text.split('/');
        let (Some(kind), Some(programme)) = (parts.next(), parts.next()) else {
            return Err(AccountError::Shape);
        };
        let party = parts.next();
        if parts.next().is_some() {
            return Err(AccountError::Shape);
        }
        let kind =
            AccountKind::parse(kind).ok_or_else(|| AccountError::UnknownKind(kind.into()))?;
        let programme = ProgrammeCode::parse(programme).map_err(|_| AccountError::Programme)?;
        match party {
            None => Account::programme(kind, &programme),
            Some(party) => Account::party(kind, &programme, party),
        }
    }

    pub fn kind(&self) -> AccountKind {
        self.kind
    }

    pub fn programme_code(&self) -> &ProgrammeCode {
        &self.programme
    }

    pub fn party_key(&self) -> Option<&str> {
        self.party.as_deref()
    }

    pub fn normal_side(&self) -> NormalSide {
        self.kind.normal_side()
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.programme)?;
        if let Some(party) = &self.party {
            write!(f, "/{party}")?;
        }
        Ok(())
    }
}

/// An account serialises as its text form (`budget_available/ZS2026-01`).
impl serde::Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> ProgrammeCode {
        ProgrammeCode::parse("ZS2026-01").unwrap()
    }

    #[test]
    fn account_names_round_trip() {
        for kind in AccountKind::ALL {
            let account = if kind.has_party() {
                Account::party(kind, &code(), "0193a1b2-c3d4").unwrap()
            } else {
                Account::programme(kind, &code()).unwrap()
            };
            assert_eq!(Account::parse(&account.to_string()), Ok(account));
        }
        assert_eq!(
            Account::programme(AccountKind::BudgetAvailable, &code())
                .unwrap()
                .to_string(),
            "budget_available/ZS2026-01"
        );
    }

    #[test]
    fn malformed_account_names_are_refused() {
        let cases = [
            ("budget_available", AccountError::Shape),
            ("budget_available/ZS2026-01/x/y", AccountError::Shape),
            ("cash/ZS2026-01", AccountError::UnknownKind("cash".into())),
            ("budget_available/zs", AccountError::Programme),
            (
                "budget_available/ZS2026-01/p1",
                AccountError::UnexpectedParty("budget_available"),
            ),
            (
                "provider_payable/ZS2026-01",
                AccountError::MissingParty("provider_payable"),
            ),
            ("provider_payable/ZS2026-01/a b", AccountError::Party),
            ("provider_payable/ZS2026-01/", AccountError::Party),
        ];
        for (text, expected) in cases {
            assert_eq!(Account::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn only_funding_is_credit_normal() {
        for kind in AccountKind::ALL {
            let expected = if kind == AccountKind::ProgrammeFunding {
                NormalSide::Credit
            } else {
                NormalSide::Debit
            };
            assert_eq!(kind.normal_side(), expected);
        }
    }
}
