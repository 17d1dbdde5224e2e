//! Drafting and digests of commands. The digest property: for every
//! command in the table, changing any field the caller asked for changes
//! the digest, and changing a field the server generates (ids, secrets,
//! password hashes) does not — and every field of every command is one of
//! the two, so a field added later must be classified here.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::digest_case::{Case, case, code, date, id};
use super::*;
use crate::domain::bank_file::BankOutcome;
use crate::domain::enterprise::EnterpriseFields;
use crate::domain::programme::ProgrammeTerms;
use crate::domain::provider::{ProviderFields, ProviderStatus};
use crate::domain::redemption::RedemptionAction;
use crate::domain::settlement::Period;
use crate::domain::{DivisionCode, Fen, Redacted, Role, Username};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::posting::Posting;

fn fund(amount: i64, reference: &str) -> Command {
    Command::FundProgramme(FundProgramme {
        programme: code("ZS2026-01"),
        amount: Fen::new(amount),
        reference: reference.into(),
    })
}

#[test]
fn funding_debits_available_and_credits_funding() {
    let draft = fund(300_000_000, "舟财企〔2026〕12号").draft().unwrap();
    assert_eq!(draft.postings.len(), 2);
    assert_eq!(
        draft.postings[0].account.to_string(),
        "budget_available/ZS2026-01"
    );
    assert_eq!(
        draft.postings[1].account.to_string(),
        "programme_funding/ZS2026-01"
    );
}

#[test]
fn invalid_commands_are_refused_before_the_database() {
    assert_eq!(fund(0, "r").draft(), Err(InvalidCommand::NonPositiveAmount));
    assert_eq!(
        fund(-5, "r").draft(),
        Err(InvalidCommand::NonPositiveAmount)
    );
    assert_eq!(
        fund(5, " ").draft(),
        Err(InvalidCommand::Empty { field: "reference" })
    );
    assert_eq!(
        fund(5, &"x".repeat(501)).draft(),
        Err(InvalidCommand::TooLong {
            field: "reference",
            max: TEXT_LEN_MAX
        })
    );
    let submission = Submission {
        actor: "cli:test".into(),
        idempotency_key: "k".repeat(256),
        command: fund(5, "r"),
    };
    assert!(matches!(
        submission.validate(),
        Err(InvalidCommand::TooLong {
            field: "idempotency_key",
            ..
        })
    ));
}

#[test]
fn digests_keep_field_boundaries() {
    assert_eq!(fund(5, "a").digest(), fund(5, "a").digest());
    // ("ab", "") ≠ ("a", "b"): the encoding keeps field boundaries.
    let journal = |memo: &str, reference: &str| {
        Command::TagEnterprise(TagSpec {
            enterprise_id: Uuid::nil(),
            tag: memo.into(),
            valid_from: date("2026-01-01"),
            valid_until: None,
            source: reference.into(),
        })
    };
    assert_ne!(journal("ab", "").digest(), journal("a", "b").digest());
}

fn terms() -> ProgrammeTerms {
    crate::domain::programme::sample_terms()
}

fn enterprise() -> crate::domain::enterprise::EnterpriseInput {
    EnterpriseFields {
        uscc: "91330902MA00000153".into(),
        name: "舟山测试企业有限公司".into(),
        division: "330902".into(),
        zone: String::new(),
        sector: "industry".into(),
        staff: "20".into(),
        revenue_yuan: "1000000".into(),
        contact: "王五".into(),
        legal_representative: String::new(),
    }
    .validate(None, date("2026-06-01"), &BTreeMap::new())
    .unwrap()
}

fn provider() -> crate::domain::provider::ProviderInput {
    ProviderFields {
        uscc: "91310110666007217T".into(),
        name: "舟山管理咨询有限公司".into(),
        legal_representative: "李四".into(),
        categories: vec!["管理咨询".into()],
        bank_name: "中国银行舟山分行".into(),
        account_name: "舟山管理咨询有限公司".into(),
        account_number: "6216610000001234567".into(),
        related_parties: vec![],
        annual_cap_yuan: "5,000,000".into(),
    }
    .validate()
    .unwrap()
}

fn invoice() -> InvoiceSpec {
    InvoiceSpec {
        code: "3300231130".into(),
        number: "01234567".into(),
        date: date("2026-03-01"),
        amount: Fen::new(800_000),
    }
}

fn redeem() -> RedeemSpec {
    RedeemSpec {
        redemption_id: id(1),
        voucher_id: id(2),
        programme: code("ZS2026-01"),
        provider_id: id(3),
        shown: ShownToken::Static,
        service_category: "管理咨询".into(),
        contract_number: "HT-1".into(),
        description: "诊断".into(),
        contract_amount: Fen::new(800_000),
        invoice: None,
        payment_proof_ref: None,
    }
}

fn period(from: &str, until: &str) -> Period {
    Period::new(date(from), date(until)).unwrap()
}

fn posting(kind: AccountKind, fen: i64) -> Posting {
    Posting::debit(
        Account::programme(kind, &code("ZS2026-01")).unwrap(),
        Fen::new(fen),
    )
}

/// Every command in the table, each field changed.
fn cases() -> Vec<Case> {
    let mut all = vec![
        case(
            FundProgramme {
                programme: code("ZS2026-01"),
                amount: Fen::new(5),
                reference: "r".into(),
            },
            &[
                ("programme", |c| c.programme = code("ZS2026-02")),
                ("amount", |c| c.amount = Fen::new(6)),
                ("reference", |c| c.reference = "s".into()),
            ],
            &[],
        ),
        case(
            Journal {
                memo: "m".into(),
                postings: vec![posting(AccountKind::BudgetAvailable, 5)],
            },
            &[
                ("memo", |c| c.memo = "n".into()),
                ("postings", |c| {
                    c.postings = vec![posting(AccountKind::BudgetAvailable, 6)]
                }),
            ],
            &[],
        ),
        case(
            CreateUser {
                user_id: id(1),
                username: Username::parse("clerk").unwrap(),
                role: Role::Provider,
                party_id: Some(id(2)),
                display_name: None,
                password_hash: Redacted::new("h1".into()),
            },
            &[
                ("role", |c| c.role = Role::Enterprise),
                ("party_id", |c| c.party_id = Some(id(3))),
            ],
            &[
                ("user_id", |c| c.user_id = id(9)),
                // Personal data stays out of the digest the chain holds.
                ("username", |c| {
                    c.username = Username::parse("clerk2").unwrap()
                }),
                ("display_name", |c| c.display_name = Some("王芳".into())),
                ("password_hash", |c| {
                    c.password_hash = Redacted::new("h2".into())
                }),
            ],
        ),
        case(
            ChangePassword {
                user_id: id(1),
                password_hash: Redacted::new("h1".into()),
                reset: false,
            },
            &[
                ("user_id", |c| c.user_id = id(2)),
                ("reset", |c| c.reset = true),
            ],
            &[("password_hash", |c| {
                c.password_hash = Redacted::new("h2".into())
            })],
        ),
        case(
            RecordLogin {
                user_id: id(1),
                verified_hash: Redacted::new("h1".into()),
                outcome: LoginOutcome::Failed,
            },
            &[
                ("user_id", |c| c.user_id = id(2)),
                ("outcome", |c| {
                    c.outcome = LoginOutcome::Succeeded {
                        session_hash: Redacted::new([1; 32]),
                        csrf_token: Redacted::new("t".into()),
                        ttl_seconds: 60,
                    }
                }),
            ],
            &[("verified_hash", |c| {
                c.verified_hash = Redacted::new("h2".into())
            })],
        ),
        case(
            EndSession {
                user_id: id(1),
                session_hash: Redacted::new([1; 32]),
            },
            &[
                ("user_id", |c| c.user_id = id(2)),
                ("session_hash", |c| c.session_hash = Redacted::new([2; 32])),
            ],
            &[],
        ),
        case(
            CreateApiToken {
                token_id: id(1),
                user_id: id(2),
                name: "n".into(),
                token_hash: Redacted::new([1; 32]),
                prefix: "vl_ab".into(),
                ttl_days: 30,
            },
            &[
                ("user_id", |c| c.user_id = id(3)),
                ("name", |c| c.name = "o".into()),
                ("ttl_days", |c| c.ttl_days = 31),
            ],
            &[
                ("token_id", |c| c.token_id = id(9)),
                ("token_hash", |c| c.token_hash = Redacted::new([2; 32])),
                ("prefix", |c| c.prefix = "vl_cd".into()),
            ],
        ),
        case(
            RevokeApiToken {
                token_id: id(1),
                user_id: id(2),
            },
            &[
                ("token_id", |c| c.token_id = id(3)),
                ("user_id", |c| c.user_id = id(4)),
            ],
            &[],
        ),
        case(
            RecordEnterprise {
                enterprise_id: id(1),
                input: enterprise(),
            },
            &[("input", |c| c.input.name = "另一家企业".into())],
            &[("enterprise_id", |c| c.enterprise_id = id(2))],
        ),
        case(
            TagSpec {
                enterprise_id: id(1),
                tag: "t".into(),
                valid_from: date("2026-01-01"),
                valid_until: None,
                source: "s".into(),
            },
            &[
                ("enterprise_id", |c| c.enterprise_id = id(2)),
                ("tag", |c| c.tag = "u".into()),
                ("valid_from", |c| c.valid_from = date("2026-01-02")),
                ("valid_until", |c| c.valid_until = Some(date("2026-12-31"))),
                ("source", |c| c.source = "t".into()),
            ],
            &[],
        ),
        case(
            BlacklistSpec {
                entry_id: id(1),
                party_kind: PartyKind::Enterprise,
                party_id: id(2),
                reason: "r".into(),
                source: "s".into(),
                effective_from: date("2026-01-01"),
                effective_until: None,
            },
            &[
                ("party_kind", |c| c.party_kind = PartyKind::Provider),
                ("party_id", |c| c.party_id = id(3)),
                ("reason", |c| c.reason = "q".into()),
                ("source", |c| c.source = "t".into()),
                ("effective_from", |c| c.effective_from = date("2026-01-02")),
                ("effective_until", |c| {
                    c.effective_until = Some(date("2026-12-31"))
                }),
            ],
            &[("entry_id", |c| c.entry_id = id(9))],
        ),
        case(
            ChangeProgramme {
                code: code("ZS2026-01"),
                change: ProgrammeChange::Create(terms()),
            },
            &[
                ("code", |c| c.code = code("ZS2026-02")),
                ("change", |c| {
                    c.change = ProgrammeChange::UpdateDraft(terms())
                }),
            ],
            &[],
        ),
        case(
            RecordProvider {
                provider_id: id(1),
                input: provider(),
            },
            &[("input", |c| c.input.fields.bank_name = "工商银行".into())],
            &[("provider_id", |c| c.provider_id = id(2))],
        ),
        case(
            DefineZone {
                name: "新城".into(),
                division: DivisionCode::parse("330902").unwrap(),
            },
            &[
                ("name", |c| c.name = "旧城".into()),
                ("division", |c| {
                    c.division = DivisionCode::parse("330903").unwrap()
                }),
            ],
            &[],
        ),
        case(
            ActivateIssuerKey {
                public_key: [1; 32],
            },
            &[("public_key", |c| c.public_key = [2; 32])],
            &[],
        ),
        case(
            RevokeIssuerKey {
                key_id: "k".into(),
                reason: "r".into(),
            },
            &[
                ("key_id", |c| c.key_id = "l".into()),
                ("reason", |c| c.reason = "s".into()),
            ],
            &[],
        ),
        case(
            ChangeProviderStatus {
                provider_id: id(1),
                status: ProviderStatus::Approved,
                reason: "r".into(),
            },
            &[
                ("provider_id", |c| c.provider_id = id(2)),
                ("status", |c| c.status = ProviderStatus::Suspended),
                ("reason", |c| c.reason = "s".into()),
            ],
            &[],
        ),
        case(
            IssueVoucher {
                voucher_id: id(1),
                programme: code("ZS2026-01"),
                enterprise_id: id(2),
                face_value: Fen::new(5),
                via: IssueVia::Claim,
            },
            &[
                ("programme", |c| c.programme = code("ZS2026-02")),
                ("enterprise_id", |c| c.enterprise_id = id(3)),
                ("face_value", |c| c.face_value = Fen::new(6)),
                ("via", |c| c.via = IssueVia::Allocation),
            ],
            &[("voucher_id", |c| c.voucher_id = id(9))],
        ),
        case(
            ReissueVoucher {
                voucher_id: id(1),
                new_voucher_id: id(2),
            },
            &[("voucher_id", |c| c.voucher_id = id(3))],
            &[("new_voucher_id", |c| c.new_voucher_id = id(9))],
        ),
        case(
            Box::new(redeem()),
            &[
                ("voucher_id", |c| c.voucher_id = id(4)),
                ("programme", |c| c.programme = code("ZS2026-02")),
                ("provider_id", |c| c.provider_id = id(5)),
                ("shown", |c| {
                    c.shown = ShownToken::Presentation {
                        nonce_hex: "00".into(),
                    }
                }),
                ("service_category", |c| {
                    c.service_category = "检验检测".into()
                }),
                ("contract_number", |c| c.contract_number = "HT-2".into()),
                ("description", |c| c.description = "培训".into()),
                ("contract_amount", |c| c.contract_amount = Fen::new(1)),
                ("invoice", |c| c.invoice = Some(invoice())),
                ("payment_proof_ref", |c| {
                    c.payment_proof_ref = Some("p".into())
                }),
            ],
            &[("redemption_id", |c| c.redemption_id = id(9))],
        ),
        case(
            RedemptionChange {
                redemption_id: id(1),
                by: ChangedBy::Enterprise(id(2)),
                action: RedemptionAction::Confirm,
                rating: None,
                text: String::new(),
            },
            &[
                ("redemption_id", |c| c.redemption_id = id(3)),
                ("by", |c| c.by = ChangedBy::Enterprise(id(4))),
                ("action", |c| c.action = RedemptionAction::Dispute),
                ("rating", |c| c.rating = Some(5)),
                ("text", |c| c.text = "好".into()),
            ],
            &[],
        ),
        case(
            HoldVoucher {
                voucher_id: id(1),
                programme: code("ZS2026-01"),
                provider_id: id(2),
                nonce_hex: "00".into(),
                service_category: "管理咨询".into(),
                contract_amount: Fen::new(800_000),
            },
            &[
                ("voucher_id", |c| c.voucher_id = id(3)),
                ("programme", |c| c.programme = code("ZS2026-02")),
                ("provider_id", |c| c.provider_id = id(4)),
                ("nonce_hex", |c| c.nonce_hex = "01".into()),
                ("service_category", |c| {
                    c.service_category = "检验检测".into()
                }),
                ("contract_amount", |c| c.contract_amount = Fen::new(1)),
            ],
            &[],
        ),
        case(
            ReleaseHold {
                voucher_id: id(1),
                provider_id: id(2),
            },
            &[
                ("voucher_id", |c| c.voucher_id = id(3)),
                ("provider_id", |c| c.provider_id = id(4)),
            ],
            &[],
        ),
        case(
            WithdrawVoucher {
                voucher_id: id(1),
                revoke_reason: None,
            },
            &[
                ("voucher_id", |c| c.voucher_id = id(2)),
                ("revoke_reason", |c| c.revoke_reason = Some(String::new())),
            ],
            &[],
        ),
        case(
            OpenRecovery {
                programme: code("ZS2026-01"),
                provider_id: id(1),
                reason: "r".into(),
            },
            &[
                ("programme", |c| c.programme = code("ZS2026-02")),
                ("provider_id", |c| c.provider_id = id(2)),
                ("reason", |c| c.reason = "s".into()),
            ],
            &[],
        ),
        case(
            AttachRedemptionDocuments {
                redemption_id: id(1),
                by: ChangedBy::Provider(id(2)),
                invoice: Some(invoice()),
                payment_proof_ref: None,
            },
            &[
                ("redemption_id", |c| c.redemption_id = id(3)),
                ("by", |c| c.by = ChangedBy::Admin),
                ("invoice", |c| {
                    c.invoice = Some(InvoiceSpec {
                        number: "01234568".into(),
                        ..invoice()
                    })
                }),
                ("payment_proof_ref", |c| {
                    c.payment_proof_ref = Some("p".into())
                }),
            ],
            &[],
        ),
        case(
            RecoverRedemption {
                redemption_id: id(1),
                reason: "r".into(),
            },
            &[
                ("redemption_id", |c| c.redemption_id = id(2)),
                ("reason", |c| c.reason = "s".into()),
            ],
            &[],
        ),
        case(
            PrepareSettlement {
                programme: code("ZS2026-01"),
                period: period("2026-01-01", "2026-03-31"),
                prepared_by: id(1),
            },
            &[
                ("programme", |c| c.programme = code("ZS2026-02")),
                ("period", |c| c.period = period("2026-01-01", "2026-03-30")),
                ("prepared_by", |c| c.prepared_by = id(2)),
            ],
            &[],
        ),
        case(
            ResolveSettlementLine {
                run_id: id(1),
                redemption_id: id(2),
                note: "n".into(),
                resolved_by: id(3),
            },
            &[
                ("run_id", |c| c.run_id = id(4)),
                ("redemption_id", |c| c.redemption_id = id(5)),
                ("note", |c| c.note = "o".into()),
                ("resolved_by", |c| c.resolved_by = id(6)),
            ],
            &[],
        ),
        case(
            ApproveSettlement {
                run_id: id(1),
                approved_by: id(2),
            },
            &[
                ("run_id", |c| c.run_id = id(3)),
                ("approved_by", |c| c.approved_by = id(4)),
            ],
            &[],
        ),
        case(
            RecordPayouts {
                run_id: id(1),
                results: vec![PayoutOutcome {
                    reference: "r".into(),
                    outcome: BankOutcome::Paid,
                    message: String::new(),
                }],
            },
            &[
                ("run_id", |c| c.run_id = id(2)),
                ("results", |c| c.results[0].outcome = BankOutcome::Failed),
            ],
            &[],
        ),
    ];
    all.extend(super::offline::digest_cases::cases());
    all.push(case(
        super::personal::RequestErasure {
            subject: "enterprise:a".into(),
            legal_basis: "consent_withdrawn".into(),
            requester: "data_subject".into(),
            reference: "r".into(),
            retain_until: None,
        },
        &[
            ("subject", |c| c.subject = "enterprise:b".into()),
            ("legal_basis", |c| c.legal_basis = "other_law".into()),
            ("requester", |c| c.requester = "authority".into()),
            ("reference", |c| c.reference = "s".into()),
            ("retain_until", |c| {
                c.retain_until = Some(date("2056-12-31"))
            }),
        ],
        &[],
    ));
    all
}

/// The names of a command struct's own fields, read off its `Debug` form
/// (which, unlike the digest, shows every field).
fn field_names(command: &Command) -> BTreeSet<String> {
    let text = format!("{command:?}");
    let open = text
        .find('{')
        .expect("every command struct has named fields");
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    let mut names = BTreeSet::new();
    let mut word = String::new();
    for ch in text[open + 1..].chars() {
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_string = true,
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' if depth == 0 => break,
            '}' | ')' | ']' => depth -= 1,
            ':' if depth == 0 && !word.is_empty() => {
                names.insert(std::mem::take(&mut word));
            }
            c if depth == 0 && (c.is_alphanumeric() || c == '_') => word.push(c),
            _ => word.clear(),
        }
    }
    names
}

#[test]
fn changing_any_asked_field_changes_the_digest_and_no_generated_one_does() {
    let cases = cases();
    let named: BTreeSet<&str> = cases.iter().map(|c| c.base.name()).collect();
    assert_eq!(
        named.len(),
        Command::NAMES.len(),
        "every command in the table has a case: missing {:?}",
        Command::NAMES
            .iter()
            .filter(|n| !named.contains(*n))
            .collect::<Vec<_>>()
    );
    for case in &cases {
        let name = case.base.name();
        let base = case.base.digest();
        for (field, changed) in &case.asked {
            assert_ne!(
                changed, &case.base,
                "{name}.{field}: the change changes nothing"
            );
            assert_ne!(
                changed.digest(),
                base,
                "{name}.{field} is not in the digest"
            );
        }
        for (field, changed) in &case.generated {
            assert_ne!(
                changed, &case.base,
                "{name}.{field}: the change changes nothing"
            );
            assert_eq!(
                changed.digest(),
                base,
                "{name}.{field} is generated per request but changes the digest"
            );
        }
        let classified: BTreeSet<String> = case
            .asked
            .iter()
            .chain(&case.generated)
            .map(|(field, _)| field.to_string())
            .collect();
        assert_eq!(
            classified,
            field_names(&case.base),
            "{name}: every field is either asked or generated"
        );
    }
}

#[test]
fn two_commands_never_share_a_digest() {
    let mut seen = BTreeMap::new();
    for case in cases() {
        for command in std::iter::once(&case.base).chain(case.asked.iter().map(|(_, c)| c)) {
            if let Some(first) = seen.insert(command.digest(), command.clone()) {
                assert_eq!(&first, command, "two different commands share a digest");
            }
        }
    }
}
