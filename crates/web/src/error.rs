//! The one error type of the HTTP surface, [`ApiError`], and the RFC 9457 problem documents it
//! becomes.
//!
//! Every refusal a client can see is a [`Reason`] with a stable snake_case `code`, an HTTP status
//! and a title and detail in both languages (the catalogue in [`Reason::texts`]). Server faults
//! are opaque: the client gets `internal_error` and a request id, the log gets the cause. This
//! module never puts internal error text, SQL or a stack trace into a response.

use axum::http::header::{CONTENT_LANGUAGE, CONTENT_TYPE, RETRY_AFTER, VARY};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use store::writer::SubmitError;
use utoipa::ToSchema;

use crate::lang::Lang;
use crate::request;

/// Where problem types are documented; a problem's `type` is this plus its code.
pub const PROBLEM_TYPE_BASE: &str = "https://okwallet.dev/problems/";

/// The media type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Why a request was refused or failed, one variant per `code` a client can be given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No route at this path.
    NotFound,
    /// A route exists at this path but not for this method.
    MethodNotAllowed { method: String },
    /// The body is not JSON at all.
    MalformedJson { line: usize, column: usize },
    /// The body is JSON but a field is missing, unknown or of the wrong type. `field` is the
    /// path from the root, e.g. `items[2].amount`.
    InvalidField {
        field: String,
        problem: FieldProblem,
    },
    /// The body is not declared as JSON.
    UnsupportedMediaType,
    /// The body is longer than the route accepts.
    BodyTooLarge { limit_bytes: usize },
    /// The body could not be read (the client stopped sending, or sent broken framing).
    UnreadableBody,
    /// The client is sending too fast.
    TooManyRequests { retry_after_s: u64 },
    /// We are too busy to take the request now; it is safe to retry.
    ServiceUnavailable { retry_after_s: u64 },
    /// The database does not answer.
    DatabaseUnavailable,
    /// No valid session or token came with a request that needs one.
    Unauthorized,
    /// The email and password do not match an account (never says which one is wrong).
    InvalidCredentials,
    /// Too many failed log-ins: the account is locked for a while.
    AccountLocked { retry_after_s: u64 },
    /// Not an email address.
    InvalidEmail,
    /// The password was right; the account also needs a one-time code (`otp`).
    MfaRequired,
    /// The one-time code (or recovery code) is wrong, expired or already used.
    InvalidOtp,
    /// The passkey answer does not verify, names a passkey we do not know (or one of another
    /// account), or its authenticator may have been cloned.
    InvalidPasskey,
    /// The passkey ceremony named does not exist: never started, already answered (a ceremony
    /// works once), or started for something else.
    CeremonyNotFound,
    /// The passkey ceremony was answered too late (after five minutes).
    CeremonyExpired,
    /// This passkey is already registered.
    PasskeyAlreadyRegistered,
    /// A passkey name breaks the rules.
    InvalidPasskeyName,
    /// Passkeys cannot work with the server's configured public address (an IP address, say).
    PasskeysUnavailable,
    /// A second factor is already enabled.
    MfaAlreadyEnabled,
    /// Confirming a second factor that was never started.
    MfaNotStarted,
    /// A sensitive action needs a fresh second factor: `POST /api/v1/me/step-up` first.
    StepUpRequired,
    /// Unfreezing an account that is not frozen (or already cooling off).
    NotFrozen,
    /// The owner froze the account: no money moves until the unfreeze takes effect.
    AccountFrozen,
    /// The anti-phishing code breaks the rules.
    InvalidAntiPhishingCode,
    /// A link's token (from an email) is malformed or names nothing.
    InvalidToken,
    /// A link's token was already used, or has expired.
    ExpiredToken,
    /// Asking to verify an address that is already verified.
    EmailAlreadyVerified,
    /// The password is too short, too long or too easy to guess; feedback in both languages.
    WeakPassword {
        feedback_en: Vec<String>,
        feedback_zh: Vec<String>,
    },
    /// An amount that is not a positive decimal with at most the asset's decimals.
    InvalidAmount { decimals: u8 },
    /// Not an address of the asset's chain (or a mistyped checksum).
    InvalidAddress,
    /// No asset with this code, or none that travels on a chain we run.
    AssetNotSupported,
    /// A withdrawal refused by the wallet's rules, with the amounts the texts need.
    WithdrawalRefused {
        refusal: wallet::WithdrawalRefusal,
        asset: String,
        decimals: u8,
    },
    /// The `Idempotency-Key` was used before for another request.
    IdempotencyConflict,
    /// The first request with this `Idempotency-Key` is still being answered.
    IdempotencyInFlight,
    /// The `Idempotency-Key` header is not 1 to 255 printable characters.
    InvalidIdempotencyKey,
    /// The caller's role may not do this.
    Forbidden,
    /// The withdrawal is not (or no longer) waiting for review.
    NotUnderReview,
    /// A transfer, conversion, payment or refund was refused (see `status::movement_reason`);
    /// `movement_id` names the refused attempt in the activity history when it was recorded.
    MovementRefused {
        code: String,
        movement_id: Option<String>,
    },
    /// No okwallet account uses the recipient's email address.
    RecipientNotFound,
    /// The help desk refused a change to a ticket.
    TicketRefused(TicketRefusal),
    /// Staff tools show other people's data: they need a confirmed second factor.
    SecondFactorRequired,
    /// The code typed for a verification request is not the one the customer's app shows.
    VerificationCodeWrong { attempts_left: i64 },
    /// The verification request is no longer waiting for a code (verified, failed after too
    /// many wrong codes, cancelled, or expired).
    VerificationNotPending,
    /// A signed request (the PBX's call events) has no valid signature.
    InvalidSignature,
    /// A signed request's timestamp is outside the replay window.
    SignatureExpired,
    /// Not a phone number (E.164, or a national number of the default country).
    InvalidPhone,
    /// Nobody who could take a chat is online now.
    ChatUnavailable,
    /// A callback window that cannot be asked for (in the past, too short or long, too far
    /// ahead, or not inside one opening of the hotline).
    CallbackWindow(helpdesk::callbacks::WindowRefusal),
    /// The customer already has this many callbacks waiting.
    TooManyCallbacks { max: i64 },
    /// No hotline takes callbacks.
    CallbackUnavailable,
    /// The callback no longer waits for a try (done, missed or cancelled).
    CallbackNotPending,
    /// Another agent is calling this customer now.
    CallbackClaimed,
    /// The callback's time has not come yet.
    CallbackNotDue,
    /// A try is recorded by the agent holding the callback: claim it first (claims lapse).
    CallbackNotClaimed,
    /// Our fault, not the client's: a bug or an unexpected infrastructure failure.
    Internal,
}

/// Why the help desk refused something asked of a ticket, one variant per code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketRefusal {
    /// A closed ticket changes no more; a new message starts a follow-up ticket.
    Closed,
    /// `new` and `closed` are not set by hand.
    StatusNotSettable,
    InvalidTag,
    /// The request would change nothing.
    NothingToChange,
    /// Ratings are for solved (or closed) tickets.
    NotSolved,
    /// The ticket already has an open complaint.
    ComplaintOpen,
    ComplaintAlreadyResolved,
    MergeIntoItself,
    /// Merging would show one customer's messages to another.
    MergeDifferentRequesters,
    /// Neither ticket of a merge may be closed.
    MergeClosed,
    /// The assignee is not an agent of the help desk.
    AssigneeNotAgent,
    /// An offline agent would never see the ticket.
    AssigneeOffline,
    /// Presence and queues are for agents of the help desk.
    NotAnAgent,
}

impl TicketRefusal {
    pub fn code(self) -> &'static str {
        match self {
            TicketRefusal::Closed => "ticket_closed",
            TicketRefusal::StatusNotSettable => "status_not_settable",
            TicketRefusal::InvalidTag => "invalid_tag",
            TicketRefusal::NothingToChange => "nothing_to_change",
            TicketRefusal::NotSolved => "ticket_not_solved",
            TicketRefusal::ComplaintOpen => "complaint_open",
            TicketRefusal::ComplaintAlreadyResolved => "complaint_already_resolved",
            TicketRefusal::MergeIntoItself => "merge_into_itself",
            TicketRefusal::MergeDifferentRequesters => "merge_different_requesters",
            TicketRefusal::MergeClosed => "merge_closed",
            TicketRefusal::AssigneeNotAgent => "assignee_not_agent",
            TicketRefusal::AssigneeOffline => "assignee_offline",
            TicketRefusal::NotAnAgent => "not_an_agent",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            TicketRefusal::Closed
            | TicketRefusal::NotSolved
            | TicketRefusal::ComplaintOpen
            | TicketRefusal::ComplaintAlreadyResolved
            | TicketRefusal::MergeClosed
            | TicketRefusal::AssigneeOffline
            | TicketRefusal::NotAnAgent => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn texts(self) -> Texts {
        let (en_t, en_d, zh_t, zh_d) = match self {
            TicketRefusal::Closed => ("Ticket closed", "This ticket is closed and changes no more. Open a new ticket; you can mention this one's number.", "工单已关闭", "该工单已关闭，无法再修改。请提交新工单，可注明本工单编号。"),
            TicketRefusal::StatusNotSettable => ("Status not settable", "A ticket is new only until someone touches it, and only the system closes solved tickets. Use open, pending, on_hold or solved.", "无法设置该状态", "工单只有在无人处理时才是“新建”，已解决的工单由系统自动关闭。请使用 open、pending、on_hold 或 solved。"),
            TicketRefusal::InvalidTag => ("Invalid tag", "A tag is 1 to 30 lowercase letters, digits, _ or -.", "标签无效", "标签须为 1 至 30 个小写字母、数字、_ 或 -。"),
            TicketRefusal::NothingToChange => ("Nothing to change", "The request would leave the ticket exactly as it is.", "没有需要修改的内容", "该请求不会对工单做任何改变。"),
            TicketRefusal::NotSolved => ("Not solved yet", "You can rate a ticket once it is solved.", "工单尚未解决", "工单解决后才能评价。"),
            TicketRefusal::ComplaintOpen => ("Complaint already open", "A supervisor is already looking into a complaint about this ticket; you will hear from them.", "投诉处理中", "主管已在处理该工单的投诉，请等待答复。"),
            TicketRefusal::ComplaintAlreadyResolved => ("Complaint already answered", "This complaint was answered already.", "投诉已答复", "该投诉已经答复。"),
            TicketRefusal::MergeIntoItself => ("Cannot merge into itself", "Choose another ticket to merge into.", "不能合并到自身", "请选择另一个工单进行合并。"),
            TicketRefusal::MergeDifferentRequesters => ("Different customers", "Only tickets of the same customer can be merged: merging would show one customer's messages to another.", "客户不同", "只能合并同一客户的工单，否则会把一位客户的消息展示给另一位客户。"),
            TicketRefusal::MergeClosed => ("Ticket closed", "A closed ticket cannot be merged, nor merged into.", "工单已关闭", "已关闭的工单不能合并，也不能作为合并目标。"),
            TicketRefusal::AssigneeNotAgent => ("Not an agent", "Tickets can only be assigned to agents of the help desk.", "不是客服人员", "工单只能分配给客服人员。"),
            TicketRefusal::AssigneeOffline => ("Agent offline", "This agent is offline and would not see the ticket. Choose someone online or away.", "客服不在线", "该客服当前离线，看不到该工单。请选择在线或暂离的客服。"),
            TicketRefusal::NotAnAgent => ("Not an agent", "Your account is not set up as an agent of the help desk; ask an administrator.", "不是客服人员", "您的账户尚未设置为客服人员，请联系管理员。"),
        };
        Texts {
            en: text(en_t, en_d),
            zh_cn: text(zh_t, zh_d),
        }
    }
}

/// What is wrong with a field of a JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    Unknown,
    /// Wrong type or value; the deserializer's own words, e.g. `invalid type: string "x",
    /// expected u32`.
    Invalid(String),
}

/// A problem's title and detail in one language.
struct Text {
    title: &'static str,
    detail: String,
}

/// A problem's texts in every language we speak; a struct, not a map, so that a code without
/// one of them does not compile.
struct Texts {
    en: Text,
    zh_cn: Text,
}

fn text(title: &'static str, detail: impl Into<String>) -> Text {
    Text {
        title,
        detail: detail.into(),
    }
}

impl Reason {
    /// The stable machine-readable code, part of the public contract.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NotFound => "not_found",
            Reason::MethodNotAllowed { .. } => "method_not_allowed",
            Reason::MalformedJson { .. } => "malformed_json",
            Reason::InvalidField { .. } => "invalid_field",
            Reason::UnsupportedMediaType => "unsupported_media_type",
            Reason::BodyTooLarge { .. } => "body_too_large",
            Reason::UnreadableBody => "unreadable_body",
            Reason::TooManyRequests { .. } => "too_many_requests",
            Reason::ServiceUnavailable { .. } => "service_unavailable",
            Reason::DatabaseUnavailable => "database_unavailable",
            Reason::Unauthorized => "unauthorized",
            Reason::InvalidCredentials => "invalid_credentials",
            Reason::AccountLocked { .. } => "account_locked",
            Reason::InvalidEmail => "invalid_email",
            Reason::WeakPassword { .. } => "weak_password",
            Reason::MfaRequired => "mfa_required",
            Reason::InvalidOtp => "invalid_otp",
            Reason::InvalidPasskey => "invalid_passkey",
            Reason::CeremonyNotFound => "ceremony_not_found",
            Reason::CeremonyExpired => "ceremony_expired",
            Reason::PasskeyAlreadyRegistered => "passkey_already_registered",
            Reason::InvalidPasskeyName => "invalid_passkey_name",
            Reason::PasskeysUnavailable => "passkeys_unavailable",
            Reason::MfaAlreadyEnabled => "mfa_already_enabled",
            Reason::MfaNotStarted => "mfa_not_started",
            Reason::StepUpRequired => "step_up_required",
            Reason::NotFrozen => "not_frozen",
            Reason::AccountFrozen => "account_frozen",
            Reason::InvalidAntiPhishingCode => "invalid_anti_phishing_code",
            Reason::InvalidToken => "invalid_token",
            Reason::ExpiredToken => "expired_token",
            Reason::EmailAlreadyVerified => "email_already_verified",
            Reason::InvalidAmount { .. } => "invalid_amount",
            Reason::InvalidAddress => "invalid_address",
            Reason::AssetNotSupported => "asset_not_supported",
            Reason::WithdrawalRefused { refusal, .. } => refusal.code(),
            Reason::IdempotencyConflict => "idempotency_conflict",
            Reason::IdempotencyInFlight => "idempotency_in_flight",
            Reason::InvalidIdempotencyKey => "invalid_idempotency_key",
            Reason::Forbidden => "forbidden",
            Reason::NotUnderReview => "not_under_review",
            Reason::MovementRefused { code, .. } => movement_code(code),
            Reason::RecipientNotFound => "recipient_not_found",
            Reason::TicketRefused(r) => r.code(),
            Reason::SecondFactorRequired => "second_factor_required",
            Reason::VerificationCodeWrong { .. } => "verification_code_wrong",
            Reason::VerificationNotPending => "verification_not_pending",
            Reason::InvalidSignature => "invalid_signature",
            Reason::SignatureExpired => "signature_expired",
            Reason::InvalidPhone => "invalid_phone",
            Reason::ChatUnavailable => "chat_unavailable",
            Reason::CallbackWindow(r) => r.code(),
            Reason::TooManyCallbacks { .. } => "too_many_callbacks",
            Reason::CallbackUnavailable => "callback_unavailable",
            Reason::CallbackNotPending => "callback_not_pending",
            Reason::CallbackClaimed => "callback_claimed",
            Reason::CallbackNotDue => "callback_not_due",
            Reason::CallbackNotClaimed => "callback_not_claimed",
            Reason::Internal => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Reason::NotFound => StatusCode::NOT_FOUND,
            Reason::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Reason::MalformedJson { .. } | Reason::UnreadableBody => StatusCode::BAD_REQUEST,
            Reason::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Reason::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reason::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Reason::ServiceUnavailable { .. }
            | Reason::DatabaseUnavailable
            | Reason::PasskeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Reason::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Reason::Unauthorized | Reason::InvalidCredentials | Reason::MfaRequired => {
                StatusCode::UNAUTHORIZED
            }
            Reason::InvalidOtp
            | Reason::InvalidPasskey
            | Reason::CeremonyNotFound
            | Reason::InvalidPasskeyName => StatusCode::UNPROCESSABLE_ENTITY,
            Reason::CeremonyExpired => StatusCode::GONE,
            Reason::PasskeyAlreadyRegistered => StatusCode::CONFLICT,
            Reason::MfaAlreadyEnabled | Reason::MfaNotStarted | Reason::NotFrozen => {
                StatusCode::CONFLICT
            }
            Reason::StepUpRequired | Reason::AccountFrozen | Reason::Forbidden => {
                StatusCode::FORBIDDEN
            }
            Reason::InvalidAmount { .. }
            | Reason::InvalidAddress
            | Reason::AssetNotSupported
            | Reason::InvalidIdempotencyKey => StatusCode::UNPROCESSABLE_ENTITY,
            Reason::IdempotencyConflict | Reason::IdempotencyInFlight | Reason::NotUnderReview => {
                StatusCode::CONFLICT
            }
            Reason::WithdrawalRefused { refusal, .. } => {
                use wallet::WithdrawalRefusal as W;
                match refusal {
                    W::StepUpRequired | W::WithdrawalsLocked { .. } => StatusCode::FORBIDDEN,
                    W::AddressNotInBook | W::AddressTimeLocked { .. } => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                }
            }
            Reason::MovementRefused { code, .. } => match code.as_str() {
                "account_frozen" => StatusCode::FORBIDDEN,
                "already_paid" | "request_cancelled" | "not_paid" => StatusCode::CONFLICT,
                "quote_expired" | "expired" => StatusCode::GONE,
                "price_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
                "ledger_refused" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Reason::RecipientNotFound => StatusCode::UNPROCESSABLE_ENTITY,
            Reason::TicketRefused(r) => r.status(),
            Reason::SecondFactorRequired => StatusCode::FORBIDDEN,
            Reason::VerificationCodeWrong { .. } | Reason::InvalidPhone => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Reason::VerificationNotPending | Reason::ChatUnavailable => StatusCode::CONFLICT,
            Reason::CallbackWindow(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Reason::TooManyCallbacks { .. }
            | Reason::CallbackUnavailable
            | Reason::CallbackNotPending
            | Reason::CallbackClaimed
            | Reason::CallbackNotDue
            | Reason::CallbackNotClaimed => StatusCode::CONFLICT,
            Reason::InvalidSignature | Reason::SignatureExpired => StatusCode::UNAUTHORIZED,
            Reason::InvalidToken => StatusCode::BAD_REQUEST,
            Reason::ExpiredToken => StatusCode::GONE,
            Reason::EmailAlreadyVerified => StatusCode::CONFLICT,
            Reason::InvalidAntiPhishingCode => StatusCode::UNPROCESSABLE_ENTITY,
            Reason::AccountLocked { .. } => StatusCode::LOCKED,
            Reason::InvalidEmail | Reason::WeakPassword { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// Seconds the client should wait before retrying, for the reasons where waiting helps.
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            Reason::TooManyRequests { retry_after_s }
            | Reason::ServiceUnavailable { retry_after_s }
            | Reason::AccountLocked { retry_after_s } => Some(*retry_after_s),
            _ => None,
        }
    }

    /// The message catalogue: title and detail in every language.
    fn texts(&self) -> Texts {
        match self {
            Reason::NotFound => Texts {
                en: text("Not found", "There is nothing at this address."),
                zh_cn: text("未找到", "此地址下没有任何内容。"),
            },
            Reason::MethodNotAllowed { method } => Texts {
                en: text(
                    "Method not allowed",
                    format!("This address does not accept {method} requests; the Allow header lists the methods it does accept."),
                ),
                zh_cn: text(
                    "不支持的请求方法",
                    format!("此地址不接受 {method} 请求；Allow 响应头列出了它接受的方法。"),
                ),
            },
            Reason::MalformedJson { line, column } => Texts {
                en: text(
                    "Malformed JSON",
                    format!("The request body is not valid JSON (line {line}, column {column})."),
                ),
                zh_cn: text("JSON 格式错误", format!("请求体不是有效的 JSON（第 {line} 行，第 {column} 列）。")),
            },
            Reason::InvalidField { field, problem } => match problem {
                FieldProblem::Missing => Texts {
                    en: text("Invalid field", format!("The field `{field}` is required but missing.")),
                    zh_cn: text("字段无效", format!("缺少必填字段 `{field}`。")),
                },
                FieldProblem::Unknown => Texts {
                    en: text("Invalid field", format!("The field `{field}` is not accepted here.")),
                    zh_cn: text("字段无效", format!("此处不接受字段 `{field}`。")),
                },
                FieldProblem::Invalid(why) => Texts {
                    en: text("Invalid field", format!("The field `{field}` has an invalid value: {why}.")),
                    zh_cn: text("字段无效", format!("字段 `{field}` 的值无效：{why}。")),
                },
            },
            Reason::UnsupportedMediaType => Texts {
                en: text(
                    "Unsupported media type",
                    "Send the request body as JSON with the header Content-Type: application/json.",
                ),
                zh_cn: text(
                    "不支持的媒体类型",
                    "请以 JSON 发送请求体，并带上请求头 Content-Type: application/json。",
                ),
            },
            Reason::BodyTooLarge { limit_bytes } => Texts {
                en: text(
                    "Request body too large",
                    format!("The request body is larger than the {limit_bytes} bytes this address accepts."),
                ),
                zh_cn: text("请求体过大", format!("请求体超过了此地址接受的 {limit_bytes} 字节上限。")),
            },
            Reason::UnreadableBody => Texts {
                en: text("Unreadable request body", "The request body could not be read completely."),
                zh_cn: text("无法读取请求体", "未能完整读取请求体。"),
            },
            Reason::TooManyRequests { retry_after_s } => Texts {
                en: text(
                    "Too many requests",
                    format!("Too many requests in a short time; try again in {retry_after_s} seconds."),
                ),
                zh_cn: text("请求过于频繁", format!("短时间内请求过多，请在 {retry_after_s} 秒后重试。")),
            },
            Reason::ServiceUnavailable { retry_after_s } => Texts {
                en: text(
                    "Service busy",
                    format!("The service is busy and did not take this request; try again in {retry_after_s} seconds."),
                ),
                zh_cn: text("服务繁忙", format!("服务繁忙，未受理此请求，请在 {retry_after_s} 秒后重试。")),
            },
            Reason::DatabaseUnavailable => Texts {
                en: text("Database unavailable", "The service cannot reach its database right now."),
                zh_cn: text("数据库不可用", "服务当前无法连接数据库。"),
            },
            Reason::Unauthorized => Texts {
                en: text("Not signed in", "Sign in first: this needs a valid session or API token."),
                zh_cn: text("未登录", "请先登录：此操作需要有效的会话或 API 令牌。"),
            },
            Reason::InvalidCredentials => Texts {
                en: text("Wrong email or password", "The email address or the password is not right."),
                zh_cn: text("邮箱或密码错误", "邮箱地址或密码不正确。"),
            },
            Reason::AccountLocked { retry_after_s } => Texts {
                en: text(
                    "Account locked",
                    format!(
                        "Too many failed sign-ins: this account is locked for {} more. You can still reset your password by email.",
                        duration_en(*retry_after_s)
                    ),
                ),
                zh_cn: text(
                    "账户已锁定",
                    format!(
                        "登录失败次数过多，账户将在 {} 后解锁。您仍可通过邮件重置密码。",
                        duration_zh(*retry_after_s)
                    ),
                ),
            },
            Reason::MfaRequired => Texts {
                en: text("Second factor needed", "This account has two-factor authentication: send the code from your authenticator app (or a recovery code) as `otp`, or sign with a passkey and send it as `passkey`."),
                zh_cn: text("需要第二重验证", "此账户已开启双重验证：请在 `otp` 中提供身份验证器应用中的验证码（或一个恢复码），或用通行密钥签名并放在 `passkey` 中。"),
            },
            Reason::InvalidPasskey => Texts {
                en: text("Passkey not accepted", "The passkey could not be verified for this account. Try again with a new challenge, or use another sign-in method."),
                zh_cn: text("通行密钥未通过验证", "无法为此账户验证该通行密钥。请获取新的验证请求后重试，或改用其他登录方式。"),
            },
            Reason::CeremonyNotFound => Texts {
                en: text("Unknown passkey request", "This passkey request does not exist or was already used; each one works once. Start a new one."),
                zh_cn: text("通行密钥请求无效", "该通行密钥请求不存在或已被使用，每个请求只能使用一次。请重新发起。"),
            },
            Reason::CeremonyExpired => Texts {
                en: text("Passkey request expired", "This passkey request is older than 5 minutes. Start a new one."),
                zh_cn: text("通行密钥请求已过期", "该通行密钥请求已超过 5 分钟。请重新发起。"),
            },
            Reason::PasskeyAlreadyRegistered => Texts {
                en: text("Passkey already registered", "This passkey is already registered."),
                zh_cn: text("通行密钥已注册", "该通行密钥已经注册过了。"),
            },
            Reason::InvalidPasskeyName => Texts {
                en: text("Invalid passkey name", "Name the passkey with 1 to 64 characters, without line breaks."),
                zh_cn: text("通行密钥名称无效", "请使用 1 到 64 个字符为通行密钥命名，不能包含换行。"),
            },
            Reason::PasskeysUnavailable => Texts {
                en: text("Passkeys unavailable", "Passkeys are not available on this server: its public address is not a domain name. The operator must set public_url to localhost or a DNS name."),
                zh_cn: text("通行密钥不可用", "此服务器暂不支持通行密钥：其公开地址不是域名。运营方需要将 public_url 设置为 localhost 或一个域名。"),
            },
            Reason::InvalidOtp => Texts {
                en: text("Wrong one-time code", "The code is wrong, expired or already used. Codes change every 30 seconds; check your device's clock."),
                zh_cn: text("动态验证码错误", "验证码错误、已过期或已被使用。验证码每 30 秒更新一次，请检查设备时间是否准确。"),
            },
            Reason::MfaAlreadyEnabled => Texts {
                en: text("Two-factor authentication is on", "Two-factor authentication is already enabled for this account."),
                zh_cn: text("双重验证已开启", "此账户已经开启了双重验证。"),
            },
            Reason::MfaNotStarted => Texts {
                en: text("Nothing to confirm", "Start the set-up first: POST /api/v1/me/totp gives the secret to scan."),
                zh_cn: text("没有待确认的设置", "请先开始设置：POST /api/v1/me/totp 会给出需要扫描的密钥。"),
            },
            Reason::StepUpRequired => Texts {
                en: text("Confirm it is you", "This action needs a fresh confirmation: verify with your second factor (or password) at POST /api/v1/me/step-up, then try again within 10 minutes."),
                zh_cn: text("请确认是您本人", "此操作需要重新验证身份：请先在 POST /api/v1/me/step-up 用双重验证（或密码）确认，然后在 10 分钟内重试。"),
            },
            Reason::AccountFrozen => Texts {
                en: text("Account frozen", "This account is frozen, so no money can move. If you froze it, request the unfreeze in the security centre; it takes effect after the cooling-off period."),
                zh_cn: text("账户已冻结", "该账户已冻结，资金无法转出。如果是您本人冻结的，请在安全中心申请解冻，冷静期结束后生效。"),
            },
            Reason::NotFrozen => Texts {
                en: text("Not frozen", "The account is not frozen, or an unfreeze is already scheduled."),
                zh_cn: text("账户未冻结", "账户未被冻结，或解冻已在等待生效。"),
            },
            Reason::InvalidAntiPhishingCode => Texts {
                en: text("Invalid anti-phishing code", "Use 4 to 20 letters, digits, spaces, hyphens or underscores; no links or email addresses."),
                zh_cn: text("防钓鱼码无效", "请使用 4 到 20 个字母、数字、空格、连字符或下划线，不能包含链接或邮箱地址。"),
            },
            Reason::InvalidToken => Texts {
                en: text("Invalid link", "This link is not valid. Open it straight from the email (the whole link), or ask for a new one."),
                zh_cn: text("链接无效", "此链接无效。请直接从邮件中打开完整的链接，或重新申请。"),
            },
            Reason::ExpiredToken => Texts {
                en: text("Link used or expired", "This link has already been used or has expired. Ask for a new one."),
                zh_cn: text("链接已使用或已过期", "此链接已被使用或已过期，请重新申请。"),
            },
            Reason::EmailAlreadyVerified => Texts {
                en: text("Email address already verified", "This email address is already verified; there is nothing more to do."),
                zh_cn: text("邮箱地址已验证", "此邮箱地址已经验证过了，无需再次验证。"),
            },
            Reason::InvalidEmail => Texts {
                en: text("Invalid email address", "Enter an email address like name@example.com."),
                zh_cn: text("邮箱地址无效", "请输入形如 name@example.com 的邮箱地址。"),
            },
            Reason::WeakPassword { feedback_en, feedback_zh } => Texts {
                en: text(
                    "Password too weak",
                    format!("Choose a stronger password. {}", feedback_en.join(" ")).trim_end().to_owned(),
                ),
                zh_cn: text("密码强度不足", format!("请选择更安全的密码。{}", feedback_zh.join(""))),
            },
            Reason::InvalidAmount { decimals } => Texts {
                en: text("Invalid amount", format!("Give the amount as a decimal string greater than zero with at most {decimals} digits after the point, e.g. \"0.015\".")),
                zh_cn: text("金额无效", format!("请以字符串形式填写大于零的金额，小数点后最多 {decimals} 位，例如 \"0.015\"。")),
            },
            Reason::InvalidAddress => Texts {
                en: text("Invalid address", "This is not an address on this asset's network. Copy it again from the receiving wallet; a mistyped letter fails the checksum."),
                zh_cn: text("地址无效", "这不是该资产所在网络的地址。请从收款钱包重新复制；输错一个字母也无法通过校验。"),
            },
            Reason::AssetNotSupported => Texts {
                en: text("Asset not supported here", "Deposits and withdrawals of this asset are not available: no network for it is running."),
                zh_cn: text("暂不支持该资产", "该资产暂不支持充值和提现：没有正在运行的对应网络。"),
            },
            Reason::WithdrawalRefused { refusal, asset, decimals } => withdrawal_texts(refusal, asset, *decimals),
            Reason::IdempotencyConflict => Texts {
                en: text("Idempotency key reused", "This Idempotency-Key was already used for a different request. Use a new key for a new request."),
                zh_cn: text("幂等键已被使用", "此 Idempotency-Key 已用于另一个不同的请求。新的请求请使用新的键。"),
            },
            Reason::IdempotencyInFlight => Texts {
                en: text("Request in progress", "The first request with this Idempotency-Key is still being processed; retry in a moment to get its answer."),
                zh_cn: text("请求处理中", "使用此 Idempotency-Key 的第一个请求仍在处理中，请稍后重试以获取其结果。"),
            },
            Reason::InvalidIdempotencyKey => Texts {
                en: text("Invalid Idempotency-Key", "The Idempotency-Key header must be 1 to 255 printable ASCII characters, e.g. a UUID."),
                zh_cn: text("Idempotency-Key 无效", "Idempotency-Key 请求头必须是 1 到 255 个可打印 ASCII 字符，例如一个 UUID。"),
            },
            Reason::Forbidden => Texts {
                en: text("Not allowed", "Your account's role does not allow this."),
                zh_cn: text("无权操作", "您的账户角色无权执行此操作。"),
            },
            Reason::NotUnderReview => Texts {
                en: text("Not waiting for review", "This withdrawal is not waiting for review; it may have been decided already."),
                zh_cn: text("无需审核", "该提现不在待审核状态，可能已经有人处理过了。"),
            },
            Reason::MovementRefused { code, .. } => {
                let en = crate::status::movement_reason(code, Lang::En);
                let zh = crate::status::movement_reason(code, Lang::ZhCn);
                Texts {
                    en: text(en.label, format!("{} {}", en.meaning, en.next_step)),
                    zh_cn: text(zh.label, format!("{}{}", zh.meaning, zh.next_step)),
                }
            }
            Reason::RecipientNotFound => {
                let en = crate::status::movement_reason("recipient_not_found", Lang::En);
                let zh = crate::status::movement_reason("recipient_not_found", Lang::ZhCn);
                Texts {
                    en: text(en.label, format!("{} {}", en.meaning, en.next_step)),
                    zh_cn: text(zh.label, format!("{}{}", zh.meaning, zh.next_step)),
                }
            }
            Reason::TicketRefused(r) => r.texts(),
            Reason::CallbackWindow(r) => callback_window_texts(*r),
            Reason::TooManyCallbacks { max } => Texts {
                en: text(
                    "Too many callbacks waiting",
                    format!("You already have {max} callbacks waiting. Cancel one you no longer need, or wait until we have called."),
                ),
                zh_cn: text(
                    "待回电请求过多",
                    format!("您已有 {max} 个待处理的回电请求。请取消不再需要的请求，或等我们回电后再预约。"),
                ),
            },
            Reason::CallbackUnavailable => Texts {
                en: text(
                    "Callbacks unavailable",
                    "No hotline takes callback requests at the moment. Open a ticket, or see the help center's contact page.",
                ),
                zh_cn: text(
                    "暂不提供回电",
                    "目前没有热线接受回电预约。请提交工单，或查看帮助中心的联系方式页面。",
                ),
            },
            Reason::CallbackNotPending => Texts {
                en: text(
                    "Callback closed",
                    "This callback no longer waits for a call: it was done, cancelled, or missed after every try.",
                ),
                zh_cn: text(
                    "回电已结束",
                    "该回电请求已不再等待回电：已完成、已取消，或多次尝试后未能接通。",
                ),
            },
            Reason::CallbackClaimed => Texts {
                en: text(
                    "Another agent is calling",
                    "Another agent claimed this callback a moment ago and is calling the customer. Take the next one in the queue.",
                ),
                zh_cn: text(
                    "其他客服正在回电",
                    "另一位客服刚刚领取了该回电并正在联系客户。请处理队列中的下一个。",
                ),
            },
            Reason::CallbackNotDue => Texts {
                en: text(
                    "Not time yet",
                    "The customer asked to be called later than this. Call within their window.",
                ),
                zh_cn: text(
                    "尚未到回电时间",
                    "客户希望稍后再接到电话，请在客户选定的时间段内回电。",
                ),
            },
            Reason::CallbackNotClaimed => Texts {
                en: text(
                    "Claim the callback first",
                    "Only the agent holding the callback records a try, and a claim lasts ten minutes. Claim it (again) before calling.",
                ),
                zh_cn: text(
                    "请先领取回电",
                    "只有领取了回电的客服才能记录回电结果，领取有效期为十分钟。请在回电前（重新）领取。",
                ),
            },
            Reason::VerificationCodeWrong { attempts_left } => Texts {
                en: text(
                    "Wrong code",
                    format!("That is not the code the customer's app shows. Ask them to read it again. Tries left: {attempts_left}."),
                ),
                zh_cn: text(
                    "验证码不正确",
                    format!("这不是客户应用中显示的验证码，请让客户再读一遍。剩余尝试次数：{attempts_left}。"),
                ),
            },
            Reason::VerificationNotPending => Texts {
                en: text(
                    "Verification no longer open",
                    "This verification request is no longer waiting for a code: it was verified, cancelled, failed after too many wrong codes, or expired. Start a new one if needed.",
                ),
                zh_cn: text(
                    "验证请求已结束",
                    "该验证请求已不再等待验证码：已验证、已取消、因错误次数过多而失败或已过期。如有需要请重新发起。",
                ),
            },
            Reason::InvalidSignature => Texts {
                en: text(
                    "Invalid signature",
                    "The request must carry X-Okwallet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256 of \"<t>.<body>\"> made with the shared secret.",
                ),
                zh_cn: text(
                    "签名无效",
                    "请求须携带 X-Okwallet-Signature: t=<Unix 秒>,v1=<用共享密钥对 \"<t>.<body>\" 计算的 HMAC-SHA-256 十六进制值>。",
                ),
            },
            Reason::SignatureExpired => Texts {
                en: text(
                    "Signature too old",
                    "The signature's timestamp is more than five minutes from our clock: a replayed request, or a clock that is wrong.",
                ),
                zh_cn: text(
                    "签名已过期",
                    "签名中的时间与服务器时间相差超过五分钟：可能是重放的请求，或时钟不准。",
                ),
            },
            Reason::ChatUnavailable => Texts {
                en: text(
                    "No agent available for chat",
                    "Nobody who could answer a chat is online right now. Open a ticket — it is answered in order, and you get an email — or call a hotline during its hours (the help center shows which lines are open now).",
                ),
                zh_cn: text(
                    "暂无在线客服",
                    "目前没有可以接待在线咨询的客服。请提交工单（我们会按顺序处理并邮件通知您），或在热线服务时间内致电（帮助中心会显示当前开放的热线）。",
                ),
            },
            Reason::InvalidPhone => Texts {
                en: text(
                    "Not a phone number",
                    "Enter the number with its country code (+86 138 0013 8000), or a national number.",
                ),
                zh_cn: text(
                    "电话号码无效",
                    "请输入带国家代码的号码（如 +86 138 0013 8000），或国内号码。",
                ),
            },
            Reason::SecondFactorRequired => Texts {
                en: text(
                    "Two-step verification required",
                    "Staff tools show other people's data, so they need two-step verification on your account. Turn it on in the security centre, then sign in again with your code.",
                ),
                zh_cn: text(
                    "需要开启两步验证",
                    "客服工具会显示其他用户的数据，因此您的账户必须开启两步验证。请在安全中心开启，然后使用验证码重新登录。",
                ),
            },
            Reason::Internal => Texts {
                en: text(
                    "Internal error",
                    "Something went wrong on our side. If it keeps happening, contact support and quote the request id.",
                ),
                zh_cn: text("内部错误", "我们这边出了问题。如果问题持续出现，请联系客服并提供请求编号（request_id）。"),
            },
        }
    }

    fn text_in(&self, lang: Lang) -> Text {
        let Texts { en, zh_cn } = self.texts();
        lang.pick(en, zh_cn)
    }
}

/// The stable code of a movement refusal (anything unforeseen is `movement_refused`).
fn movement_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "insufficient_funds",
        "limit_exceeded",
        "account_frozen",
        "cannot_send_to_self",
        "recipient_cannot_receive",
        "quote_expired",
        "insufficient_liquidity",
        "price_unavailable",
        "same_asset",
        "amount_too_small",
        "already_paid",
        "expired",
        "request_cancelled",
        "cannot_pay_own_request",
        "not_paid",
        "refund_exceeds_payment",
        "wrong_asset",
        "ledger_refused",
    ];
    KNOWN
        .iter()
        .find(|k| **k == code)
        .copied()
        .unwrap_or("movement_refused")
}

/// The texts of a refused withdrawal, with its numbers.
fn withdrawal_texts(refusal: &wallet::WithdrawalRefusal, asset: &str, decimals: u8) -> Texts {
    use wallet::WithdrawalRefusal as W;
    let amount = |a: &ledger::Amount| format!("{} {asset}", a.to_decimal_string(decimals));
    let when = |ms: &i64| crate::api::sessions::rfc3339(*ms);
    match refusal {
        W::AssetNotWithdrawable => Texts {
            en: text("Asset not withdrawable", "Withdrawals of this asset are not available: no network for it is running."),
            zh_cn: text("该资产无法提现", "该资产暂不支持提现：没有正在运行的对应网络。"),
        },
        W::InvalidAmount => Texts {
            en: text("Invalid amount", "The amount must be greater than zero and fit the network's precision."),
            zh_cn: text("金额无效", "金额必须大于零，且符合该网络的精度。"),
        },
        W::AmountBelowMinimum { minimum } => Texts {
            en: text("Amount below the minimum", format!("The smallest withdrawal of {asset} is {}.", amount(minimum))),
            zh_cn: text("低于最小提现金额", format!("{asset} 的最小提现金额为 {}。", amount(minimum))),
        },
        W::OwnDepositAddress => Texts {
            en: text("That is a deposit address of ours", "This address belongs to okwallet. To move money to another okwallet user, use Send (instant and free)."),
            zh_cn: text("这是本平台的充值地址", "该地址属于 okwallet。如需转给其他 okwallet 用户，请使用“转账”（即时到账，免费）。"),
        },
        W::WithdrawalsLocked { until_ms } => Texts {
            en: text("Withdrawals paused", format!("After a recent security change, withdrawals are paused until {} to protect your funds.", when(until_ms))),
            zh_cn: text("提现暂停中", format!("由于近期的安全设置变更，为保护您的资金，提现暂停至 {}。", when(until_ms))),
        },
        W::AddressNotInBook => Texts {
            en: text("Address not in your address book", "Allowlist mode is on: add this address to your withdrawal address book first (it needs your second factor and becomes usable after the waiting period)."),
            zh_cn: text("地址不在地址簿中", "已开启白名单模式：请先将该地址加入提现地址簿（需要双重验证，等待期结束后才能使用）。"),
        },
        W::AddressTimeLocked { usable_from_ms } => Texts {
            en: text("New address still waiting", format!("This address was added recently; for your safety it can be used from {}.", when(usable_from_ms))),
            zh_cn: text("新地址等待期未结束", format!("该地址是新添加的，为了您的资金安全，将于 {} 起可以使用。", when(usable_from_ms))),
        },
        W::StepUpRequired => Texts {
            en: text("Confirm it is you", "With allowlist mode off, every withdrawal needs a fresh second-factor confirmation (POST /api/v1/me/step-up)."),
            zh_cn: text("请确认是您本人", "关闭白名单模式后，每次提现都需要重新进行双重验证（POST /api/v1/me/step-up）。"),
        },
        W::InsufficientFunds => Texts {
            en: text("Insufficient funds", "Your available balance does not cover the amount plus the withdrawal fee."),
            zh_cn: text("余额不足", "可用余额不足以支付提现金额和手续费。"),
        },
        W::DailyLimitExceeded { limit, used } => Texts {
            en: text("Daily limit reached", format!("Withdrawals of {asset} are limited to {} in 24 hours (fees included); {} is already used.", amount(limit), amount(used))),
            zh_cn: text("超出每日限额", format!("{asset} 每 24 小时的提现限额为 {}（含手续费），已使用 {}。", amount(limit), amount(used))),
        },
    }
}

/// "1 minute 5 seconds", for messages that say how long to wait.
/// When a callback window is refused, in both languages.
fn callback_window_texts(r: helpdesk::callbacks::WindowRefusal) -> Texts {
    use helpdesk::callbacks::WindowRefusal as W;
    let minutes = |ms: i64| u64::try_from(ms / 1000).unwrap_or(0);
    match r {
        W::InPast => Texts {
            en: text(
                "Window in the past",
                "That time has passed. Pick a time from now on.",
            ),
            zh_cn: text("时间已过", "该时间已经过去，请选择现在之后的时间。"),
        },
        W::TooShort { min_ms } => Texts {
            en: text(
                "Window too short",
                format!(
                    "Give us at least {} to call you.",
                    duration_en(minutes(min_ms))
                ),
            ),
            zh_cn: text(
                "时间段太短",
                format!("回电时间段至少需要 {}。", duration_zh(minutes(min_ms))),
            ),
        },
        W::TooLong { max_ms } => Texts {
            en: text(
                "Window too long",
                format!(
                    "A window lasts at most {}: pick a shorter one so you are ready when we call.",
                    duration_en(minutes(max_ms))
                ),
            ),
            zh_cn: text(
                "时间段太长",
                format!(
                    "回电时间段最长 {}，请选择较短的时间段，以便我们来电时您方便接听。",
                    duration_zh(minutes(max_ms))
                ),
            ),
        },
        W::TooFar { max_ms } => Texts {
            en: text(
                "Window too far ahead",
                format!(
                    "Callbacks can be booked up to {} days ahead.",
                    max_ms / 86_400_000
                ),
            ),
            zh_cn: text(
                "预约时间太远",
                format!("回电最多可提前 {} 天预约。", max_ms / 86_400_000),
            ),
        },
        W::Closed { next_open_ms } => {
            let next = next_open_ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
            match next {
                Some(t) => Texts {
                    en: text(
                        "Hotline closed then",
                        format!(
                            "The hotline is not open for all of that window. It next opens at {} (UTC); pick a window inside its hours.",
                            t.strftime("%Y-%m-%d %H:%M")
                        ),
                    ),
                    zh_cn: text(
                        "该时段热线未开放",
                        format!(
                            "热线在该时间段内并非全程开放。下次开放时间为 {}（UTC），请在服务时间内选择时间段。",
                            t.strftime("%Y-%m-%d %H:%M")
                        ),
                    ),
                },
                None => Texts {
                    en: text(
                        "Hotline closed then",
                        "The hotline is not open for all of that window, and no opening is scheduled. Open a ticket instead.",
                    ),
                    zh_cn: text(
                        "该时段热线未开放",
                        "热线在该时间段内并非全程开放，且暂无开放安排。请改为提交工单。",
                    ),
                },
            }
        }
    }
}

fn duration_en(seconds: u64) -> String {
    let (m, s) = (seconds / 60, seconds % 60);
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match (m, s) {
        (0, s) => plural(s, "second"),
        (m, 0) => plural(m, "minute"),
        (m, s) => format!("{} {}", plural(m, "minute"), plural(s, "second")),
    }
}

/// "1 分 5 秒".
fn duration_zh(seconds: u64) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} 秒"),
        (m, 0) => format!("{m} 分钟"),
        (m, s) => format!("{m} 分 {s} 秒"),
    }
}

/// The body of every error response (RFC 9457 `application/problem+json`).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://okwallet.dev/problems/not_found",
    "title": "Not found",
    "status": 404,
    "code": "not_found",
    "detail": "There is nothing at this address.",
    "request_id": "01JQ7ZB4XK2M8S3V6N9R0T5WYC"
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `https://okwallet.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem, in the request's language.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// The stable machine-readable code (snake_case); branch on this, never on texts.
    pub code: String,
    /// What happened to this request, in the request's language (`zh-CN` or `en`).
    pub detail: String,
    /// The id of the request, also sent as the `x-request-id` header; quote it to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The path of the offending field in the request body, for `invalid_field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before retrying, also sent as the `Retry-After` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// For a refused transfer, conversion, payment or refund: the refused attempt's id in the
    /// activity history (`GET /api/v1/activity/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub movement_id: Option<String>,
    /// For `verification_code_wrong`: how many more codes may be tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<i64>,
    /// For `callback_window_closed`: when the hotline next opens (RFC 3339), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_open_at: Option<String>,
}

/// An error a handler returns; becomes a problem response.
#[derive(Debug)]
pub struct ApiError {
    reason: Reason,
    /// The underlying failure of a server fault, for the log only.
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(reason: Reason) -> ApiError {
        ApiError {
            reason,
            source: None,
        }
    }

    pub fn not_found() -> ApiError {
        ApiError::new(Reason::NotFound)
    }

    pub fn method_not_allowed(method: &Method) -> ApiError {
        ApiError::new(Reason::MethodNotAllowed {
            method: method.as_str().to_owned(),
        })
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_s: u64) -> ApiError {
        ApiError::new(Reason::TooManyRequests { retry_after_s })
    }

    /// 503 with `Retry-After`: we did not take the request and a retry is safe.
    pub fn service_unavailable(retry_after_s: u64) -> ApiError {
        ApiError::new(Reason::ServiceUnavailable { retry_after_s })
    }

    pub fn database_unavailable() -> ApiError {
        ApiError::new(Reason::DatabaseUnavailable)
    }

    /// An opaque 500; `error` goes to the log with the request id, never to the client.
    pub fn internal(error: impl Into<anyhow::Error>) -> ApiError {
        ApiError {
            reason: Reason::Internal,
            source: Some(error.into()),
        }
    }

    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    pub fn status(&self) -> StatusCode {
        self.reason.status()
    }

    /// The problem document in `lang`.
    pub fn problem(&self, lang: Lang, request_id: Option<String>) -> Problem {
        let Text { title, detail } = self.reason.text_in(lang);
        let code = self.reason.code();
        Problem {
            type_uri: format!("{PROBLEM_TYPE_BASE}{code}"),
            title: title.to_owned(),
            status: self.status().as_u16(),
            code: code.to_owned(),
            detail,
            request_id,
            field: match &self.reason {
                Reason::InvalidField { field, .. } => Some(field.clone()),
                _ => None,
            },
            retry_after_s: self.reason.retry_after_s(),
            movement_id: match &self.reason {
                Reason::MovementRefused { movement_id, .. } => movement_id.clone(),
                _ => None,
            },
            attempts_left: match &self.reason {
                Reason::VerificationCodeWrong { attempts_left } => Some(*attempts_left),
                _ => None,
            },
            next_open_at: match &self.reason {
                Reason::CallbackWindow(helpdesk::callbacks::WindowRefusal::Closed {
                    next_open_ms: Some(ms),
                }) => jiff::Timestamp::from_millisecond(*ms)
                    .ok()
                    .map(|t| t.to_string()),
                _ => None,
            },
        }
    }
}

/// Infrastructure failures (`anyhow` with context) are server faults.
impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> ApiError {
        ApiError::internal(error)
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> ApiError {
        match error {
            // Nothing was queued, so the client may simply come back.
            SubmitError::Overloaded => ApiError::service_unavailable(1),
            // The outcome is unknown (or a handler built too big a request, which is our bug);
            // both are ours to investigate, and retries with the same ids stay safe.
            SubmitError::Unavailable(_) | SubmitError::TooLarge(_) => ApiError::internal(error),
        }
    }
}

impl ApiError {
    /// Logs the error the way every answer does: server faults with their cause, client
    /// mistakes at debug level. Pages, which answer in HTML, call this too.
    pub fn log(&self) {
        let request_id = request::current_id();
        let status = self.status();
        let code = self.reason.code();
        let id = request_id.as_ref().map(|id| id.as_str()).unwrap_or("-");
        if status.is_server_error() {
            match &self.source {
                Some(error) => {
                    tracing::error!(
                        request_id = id,
                        code,
                        error = format!("{error:#}"),
                        "request failed"
                    )
                }
                None => tracing::warn!(
                    request_id = id,
                    code,
                    "request refused by a server condition"
                ),
            }
        } else {
            tracing::debug!(request_id = id, code, "request refused");
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let lang = request::current_lang();
        let request_id = request::current_id();
        let status = self.status();
        self.log();
        let problem = self.problem(lang, request_id.map(|id| id.to_string()));
        let body = serde_json::to_vec(&problem).expect("a problem serializes");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
        headers.insert(VARY, HeaderValue::from_static("accept-language"));
        if let Some(seconds) = self.reason.retry_after_s() {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_reason() -> Vec<Reason> {
        vec![
            Reason::NotFound,
            Reason::MethodNotAllowed {
                method: "DELETE".into(),
            },
            Reason::MalformedJson { line: 1, column: 2 },
            Reason::InvalidField {
                field: "a".into(),
                problem: FieldProblem::Missing,
            },
            Reason::InvalidField {
                field: "a".into(),
                problem: FieldProblem::Unknown,
            },
            Reason::InvalidField {
                field: "a".into(),
                problem: FieldProblem::Invalid("bad".into()),
            },
            Reason::UnsupportedMediaType,
            Reason::BodyTooLarge { limit_bytes: 10 },
            Reason::UnreadableBody,
            Reason::TooManyRequests { retry_after_s: 3 },
            Reason::ServiceUnavailable { retry_after_s: 3 },
            Reason::DatabaseUnavailable,
            Reason::Unauthorized,
            Reason::InvalidCredentials,
            Reason::AccountLocked { retry_after_s: 65 },
            Reason::InvalidEmail,
            Reason::MfaRequired,
            Reason::InvalidOtp,
            Reason::MfaAlreadyEnabled,
            Reason::MfaNotStarted,
            Reason::InvalidPasskey,
            Reason::CeremonyNotFound,
            Reason::CeremonyExpired,
            Reason::PasskeyAlreadyRegistered,
            Reason::InvalidPasskeyName,
            Reason::PasskeysUnavailable,
            Reason::StepUpRequired,
            Reason::NotFrozen,
            Reason::AccountFrozen,
            Reason::InvalidAntiPhishingCode,
            Reason::InvalidToken,
            Reason::ExpiredToken,
            Reason::EmailAlreadyVerified,
            Reason::WeakPassword {
                feedback_en: vec!["Add another word or two.".into()],
                feedback_zh: vec!["再加一两个词。".into()],
            },
            Reason::CallbackWindow(helpdesk::callbacks::WindowRefusal::InPast),
            Reason::CallbackWindow(helpdesk::callbacks::WindowRefusal::TooShort {
                min_ms: 900_000,
            }),
            Reason::CallbackWindow(helpdesk::callbacks::WindowRefusal::TooLong {
                max_ms: 14_400_000,
            }),
            Reason::CallbackWindow(helpdesk::callbacks::WindowRefusal::TooFar {
                max_ms: 14 * 86_400_000,
            }),
            Reason::CallbackWindow(helpdesk::callbacks::WindowRefusal::Closed {
                next_open_ms: Some(1_800_000_000_000),
            }),
            Reason::CallbackWindow(helpdesk::callbacks::WindowRefusal::Closed {
                next_open_ms: None,
            }),
            Reason::TooManyCallbacks { max: 3 },
            Reason::CallbackUnavailable,
            Reason::CallbackNotPending,
            Reason::CallbackClaimed,
            Reason::CallbackNotDue,
            Reason::CallbackNotClaimed,
            Reason::Internal,
        ]
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(duration_en(1), "1 second");
        assert_eq!(duration_en(65), "1 minute 5 seconds");
        assert_eq!(duration_en(120), "2 minutes");
        assert_eq!(duration_zh(65), "1 分 5 秒");
        assert_eq!(duration_zh(120), "2 分钟");
    }

    #[test]
    fn every_code_reads_in_both_languages() {
        for reason in every_reason() {
            let en = reason.text_in(Lang::En);
            let zh = reason.text_in(Lang::ZhCn);
            assert!(en.detail.is_ascii(), "{reason:?}: {}", en.detail);
            assert!(
                zh.detail
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{reason:?}"
            );
            assert_ne!(en.title, zh.title);
            let code = reason.code();
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn only_our_faults_are_5xx() {
        for reason in every_reason() {
            let ours = matches!(
                reason,
                Reason::Internal
                    | Reason::DatabaseUnavailable
                    | Reason::ServiceUnavailable { .. }
                    | Reason::PasskeysUnavailable
            );
            assert_eq!(reason.status().is_server_error(), ours, "{reason:?}");
        }
    }

    #[test]
    fn internal_errors_stay_opaque() {
        let error = ApiError::internal(anyhow::anyhow!(
            "password authentication failed for user okw"
        ));
        let problem = error.problem(Lang::En, None);
        assert_eq!(problem.code, "internal_error");
        assert!(!problem.detail.contains("password"));
        assert_eq!(
            problem.type_uri,
            "https://okwallet.dev/problems/internal_error"
        );
    }
}
