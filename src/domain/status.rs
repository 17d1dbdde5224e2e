//! The life stages stored rows are in: one declaration a status type, so
//! the name a status is stored, published and compared by is written once.
//!
//! `status_enum!` gives each type `ALL`, `as_str` (the stored name),
//! `parse` (that name back, `None` for anything else) and `Display`; serde
//! uses the same names. The store decodes every status column through
//! `parse`, so the layers above compare enums, never strings.

/// Declares a status enum stored by the names given after `=`.
macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every status, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Their stored names, in the same order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name it is stored and published by.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The status stored as `text`; `None` for anything else.
            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|status| status.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}
pub(crate) use status_enum;

status_enum! {
    /// Where a voucher is: only `Active` may be redeemed.
    pub enum VoucherStatus {
        Active = "active",
        /// Replaced by a new voucher (a lost or damaged one).
        Reissued = "reissued",
        /// Its whole value is used.
        Redeemed = "redeemed",
        Expired = "expired",
        Revoked = "revoked",
    }
}

status_enum! {
    /// Where a redemption is between the provider's claim and payment.
    pub enum RedemptionStatus {
        /// Waiting for the enterprise to confirm the service.
        Pending = "pending",
        Confirmed = "confirmed",
        Disputed = "disputed",
        /// Held by the bureau (a fraud flag); not settled.
        Frozen = "frozen",
        /// Undone; its amount went back to the voucher.
        Reversed = "reversed",
    }
}

impl RedemptionStatus {
    /// The status in Chinese, as refusals name it.
    pub fn name_zh(self) -> &'static str {
        match self {
            RedemptionStatus::Pending => "待确认",
            RedemptionStatus::Confirmed => "已确认",
            RedemptionStatus::Disputed => "有异议",
            RedemptionStatus::Frozen => "已冻结",
            RedemptionStatus::Reversed => "已冲正",
        }
    }
}

status_enum! {
    /// A settlement run: prepared by one officer, approved by another.
    pub enum RunStatus {
        Prepared = "prepared",
        Approved = "approved",
    }
}

status_enum! {
    /// A provider's payout within an approved run.
    pub enum PayoutStatus {
        Pending = "pending",
        Paid = "paid",
        /// The bank returned it; its lines go to a later run.
        Failed = "failed",
    }
}

impl RunStatus {
    /// The status in Chinese, as documents print it.
    pub fn name_zh(self) -> &'static str {
        match self {
            RunStatus::Prepared => "待审核（未批准）",
            RunStatus::Approved => "已批准",
        }
    }
}

impl PayoutStatus {
    /// The status in Chinese, as documents print it.
    pub fn name_zh(self) -> &'static str {
        match self {
            PayoutStatus::Pending => "待支付",
            PayoutStatus::Paid => "已支付",
            PayoutStatus::Failed => "支付失败",
        }
    }
}

status_enum! {
    /// A settlement line: in the run's payout, held back by the checker,
    /// or released from the run (its redemption waits for a later one).
    pub enum LineState {
        Included = "included",
        Held = "held",
        Released = "released",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::key_status::KeyStatus;
    use crate::domain::programme::ProgrammeStatus;
    use crate::domain::provider::ProviderStatus;

    fn round_trips<T: Copy + PartialEq + std::fmt::Debug + serde::Serialize>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for &status in all {
            assert_eq!(parse(as_str(status)), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(as_str(status)),
                "serde uses the stored name"
            );
            assert_eq!(parse(&as_str(status).to_uppercase()), None);
        }
        assert_eq!(parse(""), None);
    }

    #[test]
    fn every_status_round_trips_by_its_stored_name_and_nothing_else_parses() {
        round_trips(
            VoucherStatus::ALL,
            VoucherStatus::as_str,
            VoucherStatus::parse,
        );
        round_trips(
            RedemptionStatus::ALL,
            RedemptionStatus::as_str,
            RedemptionStatus::parse,
        );
        round_trips(RunStatus::ALL, RunStatus::as_str, RunStatus::parse);
        round_trips(PayoutStatus::ALL, PayoutStatus::as_str, PayoutStatus::parse);
        round_trips(LineState::ALL, LineState::as_str, LineState::parse);
        round_trips(KeyStatus::ALL, KeyStatus::as_str, KeyStatus::parse);
        round_trips(
            ProgrammeStatus::ALL,
            ProgrammeStatus::as_str,
            ProgrammeStatus::parse,
        );
        round_trips(
            ProviderStatus::ALL,
            ProviderStatus::as_str,
            ProviderStatus::parse,
        );
        assert_eq!(VoucherStatus::ALL.len(), 5);
        assert_eq!(
            VoucherStatus::NAMES,
            VoucherStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            RedemptionStatus::parse("frozen"),
            Some(RedemptionStatus::Frozen)
        );
    }
}
