//! One status vocabulary for deposits and withdrawals, explained in plain zh-CN and English with
//! what happens next — the same words on the pages, in the API (`status_text`, `next_step`) and,
//! later, in the agent console. The statuses themselves are `store::wallet`'s.

use crate::lang::Lang;

/// What a status means and what happens next, in one language.
pub struct Explained {
    pub label: &'static str,
    pub meaning: &'static str,
    pub next_step: &'static str,
}

struct Entry {
    status: &'static str,
    en: [&'static str; 3],
    zh: [&'static str; 3],
}

const DEPOSITS: &[Entry] = &[
    Entry {
        status: "detected",
        en: ["Detected", "We have seen your deposit in a block on the network.", "It needs more confirmations; this page updates by itself."],
        zh: ["已检测到", "我们已在区块链上看到您的这笔充值。", "还需要更多区块确认，本页面会自动更新。"],
    },
    Entry {
        status: "confirming",
        en: ["Confirming", "The network is confirming your deposit, block by block.", "It is credited to your balance automatically once enough blocks have confirmed it."],
        zh: ["确认中", "区块链网络正在逐个区块确认您的充值。", "达到所需确认数后会自动入账到您的余额。"],
    },
    Entry {
        status: "credited",
        en: ["Credited", "The deposit is confirmed and in your balance.", "Nothing more to do; you can use the funds now."],
        zh: ["已到账", "充值已确认并计入您的余额。", "无需其他操作，资金现在即可使用。"],
    },
    Entry {
        status: "orphaned",
        en: ["Replaced on the network", "The block that held this deposit was replaced by the network (a reorganisation) before it was confirmed, so it was not credited.", "If the transaction is mined again we pick it up by ourselves; if it does not reappear, ask the sender to check it, or contact support with the transaction hash."],
        zh: ["区块已被替换", "包含这笔充值的区块在确认前被网络替换（链重组），因此没有入账。", "如果该交易被重新打包，我们会自动继续处理；如果没有再出现，请让付款方核实，或携带交易哈希联系客服。"],
    },
    Entry {
        status: "too_small",
        en: ["Too small to credit", "The amount is smaller than the smallest unit we account for, so it cannot be credited.", "Send a larger amount; this one stays on the network."],
        zh: ["金额过小", "金额低于我们记账的最小单位，无法入账。", "请发送更大的金额；这笔金额会留在链上。"],
    },
];

const WITHDRAWALS: &[Entry] = &[
    Entry {
        status: "requested",
        en: ["Requested", "Your withdrawal is accepted and the amount plus fee is set aside from your balance.", "We sign and send it to the network shortly."],
        zh: ["已提交", "您的提现已受理，提现金额和手续费已从余额中冻结。", "我们会很快签名并发送到区块链网络。"],
    },
    Entry {
        status: "under_review",
        en: ["Under review", "Large withdrawals are checked by a supervisor before they are sent; the funds stay set aside.", "You are told when it is approved (then it is sent) or rejected (then the funds return to your balance)."],
        zh: ["审核中", "大额提现在发送前需要主管审核，资金保持冻结。", "审核通过后会发送；如被拒绝，资金会退回您的余额，并告知原因。"],
    },
    Entry {
        status: "rejected",
        en: ["Rejected", "A supervisor rejected this withdrawal; the reason is shown with it.", "The funds are back in your balance. Contact support if you have questions."],
        zh: ["已拒绝", "主管拒绝了这笔提现，原因显示在记录中。", "资金已退回您的余额。如有疑问请联系客服。"],
    },
    Entry {
        status: "signed",
        en: ["Sending", "The transaction is signed and being handed to the network.", "It shows as sent as soon as the network accepts it."],
        zh: ["发送中", "交易已签名，正在提交到区块链网络。", "网络接收后会显示为已发送。"],
    },
    Entry {
        status: "broadcast",
        en: ["Sent", "The transaction is on the network, waiting to be included in a block.", "If the network is busy we raise the fee by ourselves so that it is not stuck."],
        zh: ["已发送", "交易已发送到网络，正在等待被打包进区块。", "如果网络拥堵，我们会自动提高手续费，避免交易卡住。"],
    },
    Entry {
        status: "confirming",
        en: ["Confirming", "The transaction is in a block; the network is confirming it.", "It completes once enough blocks have confirmed it."],
        zh: ["确认中", "交易已被打包进区块，网络正在确认。", "达到所需确认数后即完成。"],
    },
    Entry {
        status: "completed",
        en: ["Completed", "The withdrawal is confirmed on the network.", "The funds are at the destination address."],
        zh: ["已完成", "提现已在区块链上确认。", "资金已到达目标地址。"],
    },
    Entry {
        status: "failed_refunded",
        en: ["Failed — refunded", "The withdrawal could not be completed on the network; the reason is shown with it.", "The amount and fee are back in your balance. You can try again, or contact support with the reference."],
        zh: ["失败（已退回）", "提现未能在区块链上完成，原因显示在记录中。", "金额和手续费已退回您的余额。您可以重试，或携带编号联系客服。"],
    },
    Entry {
        status: "refused",
        en: ["Not accepted", "The request was not accepted (for example, the balance was too low); nothing was set aside.", "Check the reason, then try again."],
        zh: ["未受理", "请求未被受理（例如余额不足），没有冻结任何资金。", "请查看原因后重试。"],
    },
];

fn find(table: &'static [Entry], status: &str, lang: Lang) -> Explained {
    let entry = table.iter().find(|e| e.status == status);
    let [label, meaning, next_step] = match entry {
        Some(e) => lang.pick(e.en, e.zh),
        None => lang.pick(["Unknown", "", ""], ["未知", "", ""]),
    };
    Explained {
        label,
        meaning,
        next_step,
    }
}

pub fn deposit(status: &str, lang: Lang) -> Explained {
    find(DEPOSITS, status, lang)
}

pub fn withdrawal(status: &str, lang: Lang) -> Explained {
    find(WITHDRAWALS, status, lang)
}

/// Why a withdrawal failed, in words, for its `reason_code`.
pub fn withdrawal_reason(code: &str, lang: Lang) -> &'static str {
    match code {
        "hot_wallet_underfunded" => lang.pick(
            "Our sending wallet could not pay the network fee at that moment. This is on our side; operations has been alerted.",
            "我们的出金钱包当时无法支付网络手续费。这是我们这边的问题，运营人员已收到提醒。",
        ),
        "broadcast_rejected" => lang.pick(
            "The network refused the transaction.",
            "区块链网络拒绝了这笔交易。",
        ),
        "reverted" => lang.pick(
            "The transaction was included in a block but failed (reverted) on the network.",
            "交易已被打包，但在链上执行失败（回滚）。",
        ),
        "rejected_by_review" => lang.pick(
            "A supervisor rejected it in review.",
            "主管在审核中拒绝了它。",
        ),
        "insufficient_funds" => lang.pick(
            "The available balance did not cover the amount plus the fee.",
            "可用余额不足以支付金额和手续费。",
        ),
        _ => lang.pick("Something else went wrong.", "出现了其他问题。"),
    }
}

/// A movement's status (transfers, conversions, payments, refunds).
pub fn movement(status: &str, lang: Lang) -> Explained {
    let entry = match status {
        "completed" => Entry {
            status: "completed",
            en: [
                "Completed",
                "Done: the money moved instantly, inside okwallet.",
                "Nothing more to do.",
            ],
            zh: [
                "已完成",
                "资金已在 OK钱包 内即时划转到账。",
                "无需其他操作。",
            ],
        },
        _ => Entry {
            status: "refused",
            en: [
                "Not done",
                "This was refused and no money moved.",
                "The reason below says why and what to do.",
            ],
            zh: [
                "未成功",
                "此操作被拒绝，资金没有发生任何变动。",
                "下方的原因说明了为什么以及接下来可以怎么做。",
            ],
        },
    };
    let [label, meaning, next_step] = match lang {
        Lang::En => entry.en,
        Lang::ZhCn => entry.zh,
    };
    Explained {
        label,
        meaning,
        next_step,
    }
}

/// Why a transfer, conversion, payment or refund was refused: a title, what happened, and what
/// to do — the same words in the API's problem documents, the activity history and the pages.
pub fn movement_reason(code: &str, lang: Lang) -> Explained {
    let (en, zh): ([&'static str; 3], [&'static str; 3]) = match code {
        "insufficient_funds" => (
            ["Insufficient funds", "Your available balance did not cover the amount (money set aside for withdrawals in progress is not available).", "Deposit or convert funds, or try a smaller amount."],
            ["余额不足", "您的可用余额不足以支付该金额（处理中的提现所冻结的资金不可用）。", "请先充值或兑换，或改用更小的金额。"],
        ),
        "limit_exceeded" => (
            ["Daily limit reached", "This would take you past your daily limit for this kind of payment in this asset (counted over the last 24 hours).", "Wait until earlier payments fall out of the 24-hour window, or contact support to review your limit."],
            ["超出每日限额", "此操作会超过您在该资产上此类操作的每日限额（按最近 24 小时累计）。", "请等待较早的交易移出 24 小时窗口，或联系客服评估调整限额。"],
        ),
        "account_frozen" => (
            ["Account frozen", "Your account is frozen, so no money can move.", "If you froze it yourself, unfreeze it under Security; otherwise contact support."],
            ["账户已冻结", "您的账户已被冻结，资金无法转出。", "如果是您自己冻结的，可在“安全”页面解冻；否则请联系客服。"],
        ),
        "cannot_send_to_self" => (
            ["That is your own account", "You cannot send money to yourself.", "Check the recipient's email address."],
            ["不能转给自己", "不能向自己的账户转账。", "请检查收款人的邮箱地址。"],
        ),
        "recipient_not_found" => (
            ["No such recipient", "No okwallet account uses this email address.", "Check the address with the recipient; they need an okwallet account to receive."],
            ["收款人不存在", "没有 okwallet 账户使用这个邮箱地址。", "请与收款人核对邮箱；对方需要有 okwallet 账户才能收款。"],
        ),
        "recipient_cannot_receive" => (
            ["The recipient cannot receive now", "The recipient's account cannot receive money at the moment (for example, it is frozen).", "Ask the recipient to contact support, or try again later."],
            ["对方暂时无法收款", "收款人的账户目前无法接收资金（例如已被冻结）。", "请让收款人联系客服，或稍后再试。"],
        ),
        "quote_expired" => (
            ["Quote expired", "The locked price was valid for a few seconds only and ran out before you confirmed.", "Get a new quote and confirm it in time."],
            ["报价已过期", "锁定的价格只在几秒内有效，确认前已经过期。", "请重新获取报价并及时确认。"],
        ),
        "insufficient_liquidity" => (
            ["Not enough liquidity", "We cannot fill this conversion at the moment: our inventory of the asset you want is too low.", "Try a smaller amount or try again later; nothing was taken from your balance."],
            ["流动性不足", "我们暂时无法完成这笔兑换：目标资产的库存不足。", "请尝试更小的金额或稍后再试；您的余额没有被扣除。"],
        ),
        "price_unavailable" => (
            ["No price right now", "The price feed did not give a price we can trust for this pair.", "Try again in a minute."],
            ["暂无报价", "行情源暂时没有提供可信的价格。", "请稍后一分钟再试。"],
        ),
        "same_asset" => (
            ["Same asset", "You cannot convert an asset into itself.", "Choose a different asset to receive."],
            ["相同资产", "不能把资产兑换成它自己。", "请选择另一种要兑换成的资产。"],
        ),
        "amount_too_small" => (
            ["Amount too small", "After the fee nothing would arrive.", "Use a larger amount."],
            ["金额过小", "扣除手续费后将没有资金到账。", "请使用更大的金额。"],
        ),
        "already_paid" => (
            ["Already paid", "This payment request has already been paid.", "Nothing to do; if you think you paid twice, check your activity or contact support."],
            ["已支付", "该收款请求已经被支付过了。", "无需操作；如果您认为重复支付了，请查看账户明细或联系客服。"],
        ),
        "expired" => (
            ["Payment request expired", "The merchant's payment request expired before it was paid.", "Ask the merchant for a new payment link."],
            ["收款请求已过期", "商户的收款请求在支付前已过期。", "请向商户索取新的付款链接。"],
        ),
        "request_cancelled" => (
            ["Payment request cancelled", "The merchant cancelled this payment request.", "Ask the merchant for a new payment link."],
            ["收款请求已取消", "商户已取消该收款请求。", "请向商户索取新的付款链接。"],
        ),
        "cannot_pay_own_request" => (
            ["Your own request", "You cannot pay your own payment request.", "Share the link with your customer instead."],
            ["不能支付自己的收款", "不能支付您自己创建的收款请求。", "请把链接发给您的顾客。"],
        ),
        "not_paid" => (
            ["Not paid", "Only a paid request can be refunded.", "Check the request's status."],
            ["尚未支付", "只有已支付的收款请求才能退款。", "请检查该请求的状态。"],
        ),
        "refund_exceeds_payment" => (
            ["Refund too large", "Refunds together cannot exceed what the customer paid.", "Refund at most what is left of the payment."],
            ["退款超额", "累计退款不能超过顾客实际支付的金额。", "退款金额请不要超过剩余可退金额。"],
        ),
        "wrong_asset" => (
            ["Wrong asset", "The amount is in a different asset than the request.", "Use the request's asset."],
            ["资产不符", "金额的资产与收款请求不一致。", "请使用收款请求指定的资产。"],
        ),
        _ => (
            ["Could not be completed", "Something on our side stopped it; no money moved.", "Try again; if it happens again, contact support with the reference."],
            ["无法完成", "我们这边的问题导致操作未完成，资金没有变动。", "请重试；如果再次发生，请携带参考编号联系客服。"],
        ),
    };
    let [label, meaning, next_step] = match lang {
        Lang::En => en,
        Lang::ZhCn => zh,
    };
    Explained {
        label,
        meaning,
        next_step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_status_is_explained_in_both_languages() {
        use store::wallet::{deposit_status as d, withdrawal_status as w};
        for status in [
            d::DETECTED,
            d::CONFIRMING,
            d::CREDITED,
            d::ORPHANED,
            d::TOO_SMALL,
        ] {
            for lang in [Lang::En, Lang::ZhCn] {
                let e = deposit(status, lang);
                assert!(!e.meaning.is_empty() && !e.next_step.is_empty(), "{status}");
            }
        }
        for status in [
            w::REQUESTED,
            w::UNDER_REVIEW,
            w::REJECTED,
            w::SIGNED,
            w::BROADCAST,
            w::CONFIRMING,
            w::COMPLETED,
            w::FAILED_REFUNDED,
            w::REFUSED,
        ] {
            for lang in [Lang::En, Lang::ZhCn] {
                let e = withdrawal(status, lang);
                assert!(!e.meaning.is_empty() && !e.next_step.is_empty(), "{status}");
            }
        }
        assert_ne!(
            deposit("credited", Lang::ZhCn).label,
            deposit("credited", Lang::En).label
        );
    }
}
