//! Secrets in messages: a corpus of what must be hidden and what must stay readable, and
//! properties over generated text.

use bip39::{Language, Mnemonic};
use helpdesk::secrets::{self, SecretKind, SecretKind::*, CARD_HIDDEN, FUNCTION_WORDS, HIDDEN};
use proptest::prelude::*;

const NONE: &[SecretKind] = &[];
const SEED: &[SecretKind] = &[SeedPhrase];
const KEY: &[SecretKind] = &[PrivateKey];
const CODE: &[SecretKind] = &[OneTimeCode];
const CARD: &[SecretKind] = &[CardNumber];

/// Input, expected text after masking, expected kinds.
type Row = (&'static str, &'static str, &'static [SecretKind]);

/// Secrets, each in the shapes customers type them.
const POSITIVES: &[Row] = &[
    // English phrases: the BIP-39 test vector, generated ones, numbered, across lines, in
    // upper case, with a typo, in sentences.
    (
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        "••••••",
        SEED,
    ),
    (
        "egg tongue release hurdle cherry charge practice endless island return safe romance",
        "••••••",
        SEED,
    ),
    (
        "make length naive pulp surface parade hurry decorate slim green estate unique spin rack \
         meadow found farm shell make gym age oil trial present",
        "••••••",
        SEED,
    ),
    (
        "1. egg 2. tongue 3. release 4. hurdle 5. cherry 6. charge 7. practice 8. endless \
         9. island 10. return 11. safe 12. romance",
        "1. ••••••",
        SEED,
    ),
    (
        "(1) egg (2) tongue (3) release (4) hurdle (5) cherry (6) charge (7) practice \
         (8) endless (9) island (10) return (11) safe (12) romance",
        "(1) ••••••",
        SEED,
    ),
    (
        "1)egg 2)tongue 3)release 4)hurdle 5)cherry 6)charge\n7)practice 8)endless 9)island \
         10)return 11)safe 12)romance",
        "1)••••••",
        SEED,
    ),
    (
        "egg\ntongue\nrelease\nhurdle\ncherry\ncharge\npractice\nendless\nisland\nreturn\nsafe\nromance\n",
        "••••••\n",
        SEED,
    ),
    (
        "EGG TONGUE RELEASE HURDLE CHERRY CHARGE PRACTICE ENDLESS ISLAND RETURN SAFE ROMANCE",
        "••••••",
        SEED,
    ),
    (
        "Egg, tongue, release, hurdle, cherry, charge, practice, endless, island, return, safe, romance.",
        "••••••.",
        SEED,
    ),
    (
        "egg tongue relaese hurdle cherry charge practice endless island return safe romance",
        "••••••",
        SEED,
    ),
    (
        "Hi, I wrote down: egg tongue release hurdle cherry charge practice endless island return \
         safe romance. Is my wallet ok?",
        "Hi, I wrote down: ••••••. Is my wallet ok?",
        SEED,
    ),
    // `phrase`, `please` and `help` are list words too; the run takes them.
    (
        "Here is my phrase: egg tongue release hurdle cherry charge practice endless island return \
         safe romance, please help",
        "Here is my ••••••",
        SEED,
    ),
    (
        "我的助记词是 egg tongue release hurdle cherry charge practice endless island return safe \
         romance，帮我看看",
        "我的助记词是 ••••••，帮我看看",
        SEED,
    ),
    // Chinese phrases: spaced, numbered, with 、, unspaced with a valid checksum (12, 15 and 24
    // words, Traditional), in a sentence.
    ("的 一 是 在 不 了 有 和 人 这 中 大", "••••••", SEED),
    (
        "我的助记词是 的 一 是 在 不 了 有 和 人 这 中 大，帮我看看",
        "我的助记词是 ••••••，帮我看看",
        SEED,
    ),
    (
        "1.磷 2.怕 3.灰 4.板 5.机 6.捕 7.埔 8.肥 9.疾 10.跨 11.疾 12.洲",
        "1.••••••",
        SEED,
    ),
    ("磷、怕、灰、板、机、捕、埔、肥、疾、跨、疾、洲", "••••••", SEED),
    ("磷怕灰板机捕埔肥疾跨疾洲", "••••••", SEED),
    (
        "我的助记词是：磷怕灰板机捕埔肥疾跨疾洲，帮我看看",
        "我的助记词是：••••••，帮我看看",
        SEED,
    ),
    ("带能剩巷徐涉节远先罩极爷各窝韩", "••••••", SEED),
    ("辑慌亏讲扫隆迅谷旦某教允案侵丙就迫堡贫勘豆署钩箱", "••••••", SEED),
    ("助記詞：靈夠槍味仍谷盈玩焦尼戴萬。", "助記詞：••••••。", SEED),
    // Private keys: hex with and without 0x, WIF (uncompressed, compressed, testnet),
    // extended private keys.
    (
        "私钥 4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "私钥 ••••••",
        KEY,
    ),
    (
        "my key is 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318 please",
        "my key is •••••• please",
        KEY,
    ),
    (
        "0X4C0883A69102937D6231471B5DBB6204FE5129617082792AE468D01A3F362318",
        "••••••",
        KEY,
    ),
    (
        "交易哈希：0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060，\
         私钥：0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "交易哈希：0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060，私钥：••••••",
        KEY,
    ),
    ("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", "••••••", KEY),
    (
        "导入私钥 KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617 失败",
        "导入私钥 •••••• 失败",
        KEY,
    ),
    (
        "testnet: cMzLdeGd5vEqxB8B6VFQoRopQ3sLAAvEzDAoQgvX54xwofSWj1fx",
        "testnet: ••••••",
        KEY,
    ),
    (
        "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
        "••••••",
        KEY,
    ),
    (
        "tprv8ZgxMBicQKsPeDgjzdC36fs6bMjGApWDNLR9erAXMs5skhMv36j9MV5ecvfavji5khqjWaWSFhN3YcCUUdiKH6isR4Pwy3U5y5egddBr16m",
        "••••••",
        KEY,
    ),
    (
        "zprvAWgYBBk7JR8GjzqSzmunMCS7dAbwpYTCs1YUMDXqduMA5JFHZ3iX5s2UkAR6vBdcCYYa1S5o1fVLrKsrnpCQ4WpUd6aVUWP1bS2Yy5DoaKv is mine",
        "•••••• is mine",
        KEY,
    ),
    // One-time codes, before and after their words, grouped, full-width.
    ("验证码是 493027", "验证码是 ••••••", CODE),
    ("my 2FA code: 123456", "my 2FA code: ••••••", CODE),
    ("code 8841 2203", "code ••••••", CODE),
    ("493027 是验证码", "•••••• 是验证码", CODE),
    ("OTP:0042", "OTP:••••••", CODE),
    ("Google Authenticator shows 884 122", "Google Authenticator shows ••••••", CODE),
    ("短信码：１２３４５６", "短信码：••••••", CODE),
    ("動態碼 778899", "動態碼 ••••••", CODE),
    (
        "the verification code is 55821, thanks",
        "the verification code is ••••••, thanks",
        CODE,
    ),
    ("谷歌验证 123 456 一直提示错误", "谷歌验证 •••••• 一直提示错误", CODE),
    // Cards: Visa, Mastercard (both ranges), American Express, UnionPay (16 and 19),
    // Discover, JCB; spaces, dashes, glued to Chinese, followed by an expiry or a CVV.
    ("4111 1111 1111 1111", "•••• •••• •••• 1111", CARD),
    ("5555555555554444", "•••• •••• •••• 4444", CARD),
    ("2223003122003222", "•••• •••• •••• 3222", CARD),
    ("4111-1111-1111-1111", "•••• •••• •••• 1111", CARD),
    ("Amex 3782 822463 10005", "Amex •••• •••• •••• 0005", CARD),
    ("卡号 6212 3456 7890 1234 569", "卡号 •••• •••• •••• 4569", CARD),
    ("卡号6212345678901232，谢谢", "卡号•••• •••• •••• 1232，谢谢", CARD),
    ("6011111111111117", "•••• •••• •••• 1117", CARD),
    ("JCB 3530111333300000", "JCB •••• •••• •••• 0000", CARD),
    (
        "my card 4111 1111 1111 1111 exp 12/27 cvv 123",
        "my card •••• •••• •••• 1111 exp 12/27 cvv 123",
        CARD,
    ),
    ("4111 1111 1111 1111 123", "•••• •••• •••• 1111 123", CARD),
    ("４１１１１１１１１１１１１１１１", "•••• •••• •••• 1111", CARD),
    // Several kinds in one message, listed in a fixed order.
    (
        "验证码 493027，卡号 4111 1111 1111 1111",
        "验证码 ••••••，卡号 •••• •••• •••• 1111",
        &[OneTimeCode, CardNumber],
    ),
    (
        "卡 5555555555554444 私钥 4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "卡 •••• •••• •••• 4444 私钥 ••••••",
        &[PrivateKey, CardNumber],
    ),
];

/// Ordinary messages, with dates, amounts, phone numbers, addresses, hashes and references,
/// that must stay exactly as typed.
const NEGATIVES: &[&str] = &[
    "我在2024年12月5日充值了100 USDT，到现在还没到账。",
    "订单日期 2024-12-05，金额 ¥1,000.50，手续费 0.8 USDT",
    "请拨打 +86 138 0013 8000 或 13800138000，工作时间 09:00-18:00",
    "Call +62 812 3456 7890 or +1 (415) 555-2671.",
    "订单号 4111111111111112",
    "订单号 2024120512345678，请帮我查一下",
    "我要提现 1234567890123 USDT",
    "余额 12345678.90 USDT，冻结 4111111111111111.00",
    "提现地址 0x742d35Cc6634C0532925a3b844Bc454e4438f44e 对吗？",
    "交易哈希：0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
    "txid 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 is pending",
    "https://etherscan.io/tx/0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",
    "Transaction 5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 failed",
    "TxHash: 0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",
    "txids:\n0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060\n\
     0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b,\n\
     0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
    "区块 0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b 已确认",
    "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
    "tpubD6NzVbkrYhZ4XgiXtGrdW5XDAPFCL9h7we1vwNCpn8tGbBcgfVYjXyhWo4E1xkh56hjod1RhGjxbaTLV3X4FyWuejifB9jusQ46QzG87VKp",
    // A WIF with one character changed fails its checksum.
    "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTK",
    "BTC 地址 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    "Enter the 6-digit code we sent to your phone.",
    "I never got the code. My order 20241205 is still pending.",
    "验证码收不到，订单号 20241205",
    "error code 10003 when I withdraw",
    "zip code 100000",
    "我的邀请码是 882211",
    "工单 #20241205 已经 3 天没人回复",
    "v1.2.3 on 192.168.1.1, build 20241205",
    "1. apple 2. banana 3. cherry",
    // 11 words are not a phrase; neither is one with two typos.
    "egg tongue release hurdle cherry charge practice endless island return safe",
    // A clause of list characters that happens to pass the checksum: too common to be a phrase.
    "不要点击邮件里的任何链接",
    // The first 12 words of the list, unspaced, fail the checksum.
    "的一是在不了有和人这中大",
    // Ordinary English.
    "Hi there, I sent 250 USDT from my other exchange about two hours ago and it still has not \
     arrived. The network was TRON and the address I used is the one shown on the deposit page. \
     Can you please check what happened and let me know when it will be credited? Thank you so \
     much for your help, I have been waiting all day and I am getting worried.",
    "I want to know about the fee. Also, can you check my account again? I need to make a \
     payment today and my balance is still zero. Please call me back if you can, or send me an \
     email, because I will be away from my desk for most of the afternoon.",
    "If you told someone your password, a verification code or a recovery code, or typed them \
     into a suspicious site, do the following in this order, now. The sooner the better — don't \
     wait out of embarrassment. A freeze signs out every device at once and stops all money \
     leaving; withdrawals not yet sent stay unsent. The link works for 7 days.",
    "New addresses wait 24 hours by default before they can be used, which buys you time. Reach \
     us through Contact us or open a ticket and tell us what you gave away, when, and through \
     what (the phone number, website or chat account), and the references of anything suspicious.",
    "Thank you for your patience. Your ticket 48213 has been escalated to our payments team, who \
     will reply within 2 business days. Please keep this window open; you can also add more \
     detail below, such as the exact amount, the time of the transfer and a screenshot.",
    // Ordinary Chinese, from the help desk's founding document.
    "在现代社会中,电子钱包已成为人们生活中不可或缺的一部分。其中,OK钱包因其便捷、安全的特点,受到很多\
     用户的喜爱。然而,在使用过程中,难免会遇到一些问题,此时,一个健全的客服系统及人工服务显得尤为重要。",
    "OK钱包的客服电话一般会在官方网站上进行公示,用户需要查看具体的信息。通常情况下,多个城市的客服热线\
     可能会在不同时间段内提供服务,标准的工作时间通常是周一至周五09:00至18:00。但也有一些公司会提供24小时\
     的服务,允许用户随时拨打电话进行咨询。",
    "在数字资产管理的过程中,保护账户安全是每位用户需要重视的问题。建议用户定期更换账户密码,并开启双因素\
     认证功能。此外,警惕 phishing(网络钓鱼)攻击,注意识别来源不明的邮箱和链接,不要随意点击。",
    "为了最大限度地提高拨打客服热线的效率,用户在拨打电话之前可以先准备好自己所需要的信息,例如账户信息、\
     问题描述等。这样在与客服人员沟通时,可以节省时间,快速得到解答。",
    "  • 账户登录失败\n  • 资金到账延迟\n  • 无法进行交易\n  • 账户安全问题\n  • 支付失败",
    "如果用户在与客服的沟通过程中感到不满意,建议向主管投诉。消费者的反馈对于客服团队不断服务质量至关重要,\
     用户希望能得到更好的支持服务,因此公司一般会认真对待每一个客户的声音。",
    "我 爱 你 们",
];

#[test]
fn the_corpus_has_enough_rows() {
    assert!(POSITIVES.len() >= 40, "{} positives", POSITIVES.len());
    assert!(NEGATIVES.len() >= 40, "{} negatives", NEGATIVES.len());
}

#[test]
fn secrets_are_masked() {
    for (input, expected, kinds) in POSITIVES {
        let masked = secrets::mask(input);
        assert_eq!(masked.text, *expected, "input: {input}");
        assert_eq!(masked.kinds, *kinds, "input: {input}");
    }
}

#[test]
fn ordinary_messages_stay_as_typed() {
    for input in NEGATIVES {
        let masked = secrets::mask(input);
        assert_eq!(masked.text, *input);
        assert_eq!(masked.kinds, NONE, "input: {input}");
    }
}

/// Texts where masking once left something that masking again would find, found by the
/// properties below: what touches a mask must read as it did before.
#[test]
fn masking_twice_finds_nothing_more() {
    let texts = [
        "00aaa0aaa00aaaa0a0aaaa0aaaaaa000a0aaaaaaaa00aa0aa00a0a0000aaa000.4111:code",
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318０000的验证码",
        "验证码00０00 0０00磷怕灰板机捕埔肥疾跨疾洲",
    ];
    for text in texts {
        let once = secrets::mask(text);
        assert!(!once.kinds.is_empty(), "{text}");
        assert_eq!(secrets::mask(&once.text).text, once.text, "{text}");
    }
}

#[test]
fn found_ranges_are_the_secrets() {
    let text = "卡号 4111 1111 1111 1111，验证码 493027";
    let found = secrets::find(text);
    let spans: Vec<(SecretKind, &str)> = found
        .iter()
        .map(|f| (f.kind, &text[f.start..f.end]))
        .collect();
    assert_eq!(
        spans,
        [(CardNumber, "4111 1111 1111 1111"), (OneTimeCode, "493027")]
    );
}

#[test]
fn the_corpus_phrases_are_real_phrases() {
    let phrases = [
        (Language::English, "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"),
        (Language::English, "egg tongue release hurdle cherry charge practice endless island return safe romance"),
        (Language::English, "make length naive pulp surface parade hurry decorate slim green estate unique spin rack meadow found farm shell make gym age oil trial present"),
        (Language::SimplifiedChinese, "磷怕灰板机捕埔肥疾跨疾洲"),
        (Language::SimplifiedChinese, "带能剩巷徐涉节远先罩极爷各窝韩"),
        (Language::SimplifiedChinese, "辑慌亏讲扫隆迅谷旦某教允案侵丙就迫堡贫勘豆署钩箱"),
        (Language::TraditionalChinese, "靈夠槍味仍谷盈玩焦尼戴萬"),
    ];
    for (language, phrase) in phrases {
        let spaced = if phrase.contains(' ') {
            phrase.to_owned()
        } else {
            phrase
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(Mnemonic::parse_in(language, spaced).is_ok(), "{phrase}");
    }
    // And the clause that must not be taken for one does pass the checksum.
    let clause = "不 要 点 击 邮 件 里 的 任 何 链 接";
    assert!(Mnemonic::parse_in(Language::SimplifiedChinese, clause).is_ok());
}

#[test]
fn unspaced_chinese_phrases_from_entropy_are_masked() {
    let entropy = [
        0xa5, 0x4d, 0xca, 0x18, 0x25, 0x30, 0xbb, 0x1d, 0x6d, 0x13, 0x2c, 0xde, 0xd6, 0x23, 0x7b,
        0x2e,
    ];
    for language in [Language::SimplifiedChinese, Language::TraditionalChinese] {
        let mnemonic = Mnemonic::from_entropy_in(language, &entropy).unwrap();
        let unspaced: String = mnemonic.words().collect();
        let message = format!("助记词：{unspaced}，请帮我恢复钱包");
        let masked = secrets::mask(&message);
        assert_eq!(masked.text, "助记词：••••••，请帮我恢复钱包", "{message}");
        assert_eq!(masked.kinds, SEED);
    }
}

#[test]
fn a_long_message_is_masked() {
    let mut ordinary = String::new();
    while ordinary.len() < 4096 {
        ordinary.push_str(
            "我在2024年12月5日充值了100 USDT，到现在还没到账。Can you please check my account? ",
        );
    }
    let message = format!(
        "{ordinary}验证码 493027，卡号 4111 1111 1111 1111，egg tongue release hurdle cherry \
         charge practice endless island return safe romance"
    );
    let masked = secrets::mask(&message);
    assert_eq!(masked.kinds, [SeedPhrase, OneTimeCode, CardNumber]);
    assert_eq!(
        masked.text,
        format!("{ordinary}验证码 ••••••，卡号 •••• •••• •••• 1111，••••••")
    );
}

#[test]
fn kinds_are_snake_case() {
    let json = serde_json::to_string(&[SeedPhrase, PrivateKey, OneTimeCode, CardNumber]).unwrap();
    assert_eq!(
        json,
        r#"["seed_phrase","private_key","one_time_code","card_number"]"#
    );
}

// Properties.

/// Pieces that text is made of in the properties: list words and typos, list and other Han
/// characters, numbers, code words, separators, masks and whole secrets, glued in any order.
fn piece() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "abandon",
        "egg",
        "code",
        "about",
        "relaese",
        "safe",
        "的",
        "一",
        "磷",
        "我",
        "验证码",
        "2FA",
        "tx",
        "哈希",
        "1.",
        "(2)",
        "12",
        "4111",
        "1111",
        "493027",
        "+",
        ".",
        ",",
        ":",
        "-",
        "/",
        " ",
        " ",
        " ",
        "\n",
        "，",
        "、",
        "•",
        HIDDEN,
        CARD_HIDDEN,
        "¥",
        "０",
        "７",
        "0x",
        "4111 1111 1111 1111",
        "5555555555554444",
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
        "egg tongue release hurdle cherry charge practice endless island return safe romance",
        "磷怕灰板机捕埔肥疾跨疾洲",
        "的 一 是 在 不 了 有 和 人 这 中 大",
        "6212345678901232",
        "4111111111113",
        "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        4 => fixed,
        1 => "[0-9]{1,8}",
        1 => "[0-9a-f]{64}",
        1 => "[a-zA-Z]{1,9}",
        1 => "[0-9０-９]{1,4}[ -]?",
        1 => "\\PC{1,3}",
    ]
}

fn message() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..40).prop_map(|pieces| pieces.concat())
}

/// A secret as typed: its text, and the part of it that must not survive.
fn secret() -> impl Strategy<Value = String> {
    // The rare phrase with more than a quarter function words is not taken for one (see the
    // module's rules).
    let english = prop::array::uniform16(any::<u8>())
        .prop_map(|entropy| Mnemonic::from_entropy_in(Language::English, &entropy).unwrap())
        .prop_filter("reads like prose", |m| !prose_like(m))
        .prop_map(|mnemonic| mnemonic.words().collect::<Vec<_>>().join(" "));
    let english_long = prop::array::uniform32(any::<u8>())
        .prop_map(|entropy| Mnemonic::from_entropy_in(Language::English, &entropy).unwrap())
        .prop_filter("reads like prose", |m| !prose_like(m))
        .prop_map(|mnemonic| {
            mnemonic
                .words()
                .enumerate()
                .map(|(i, w)| format!("{}. {w}", i + 1))
                .collect::<Vec<_>>()
                .join("\n")
        });
    let chinese = prop::array::uniform16(any::<u8>()).prop_map(|entropy| {
        let mnemonic = Mnemonic::from_entropy_in(Language::SimplifiedChinese, &entropy).unwrap();
        mnemonic.words().collect::<Vec<_>>().join(" ")
    });
    let hex = ("(0x)?", "[0-9a-fA-F]{64}").prop_map(|(prefix, hex)| prefix + &hex);
    let wif = (prop::array::uniform32(any::<u8>()), any::<bool>()).prop_map(|(key, compressed)| {
        let mut payload = vec![0x80];
        payload.extend_from_slice(&key);
        if compressed {
            payload.push(0x01);
        }
        bs58::encode(payload).with_check().into_string()
    });
    let card = ("4[0-9]{14}", "[ -]?").prop_map(|(body, separator)| {
        let check = (0..10u8)
            .map(|d| format!("{body}{d}"))
            .find(|n| luhn(n))
            .unwrap();
        let groups: Vec<&str> = (0..4).map(|i| &check[i * 4..i * 4 + 4]).collect();
        groups.join(&separator)
    });
    let code = "[0-9]{4,8}".prop_map(|digits| format!("验证码：{digits}"));
    prop_oneof![english, english_long, chinese, hex, wif, card, code]
}

fn prose_like(mnemonic: &Mnemonic) -> bool {
    let function = mnemonic
        .words()
        .filter(|w| FUNCTION_WORDS.contains(w))
        .count();
    4 * function > mnemonic.word_count()
}

fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            match (i % 2, d * 2) {
                (1, double) if double > 9 => double - 9,
                (1, double) => double,
                _ => d,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Filler that shares no five characters with any secret.
fn filler() -> impl Strategy<Value = String> {
    "[ ，。！\n★☆éßпривет]{0,12}"
}

/// The digits and letters of a secret, which are what must not survive masking.
fn secret_core(secret: &str) -> Vec<char> {
    let body = secret.strip_prefix("验证码：").unwrap_or(secret);
    body.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn masking_is_idempotent(text in message()) {
        let once = secrets::mask(&text);
        let twice = secrets::mask(&once.text);
        prop_assert_eq!(&twice.text, &once.text);
    }

    #[test]
    fn any_text_is_safe_to_scan(text in any::<String>(), built in message()) {
        for text in [text, built] {
            let found = secrets::find(&text);
            let mut end = 0;
            for f in &found {
                prop_assert!(end <= f.start && f.start < f.end && f.end <= text.len());
                prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
                end = f.end;
            }
            let masked = secrets::mask(&text);
            prop_assert_eq!(masked.kinds.is_empty(), found.is_empty());
        }
    }

    #[test]
    fn no_five_characters_of_a_secret_survive(
        before in filler(),
        secret in secret(),
        after in filler(),
    ) {
        let text = format!("{before}{secret}{after}");
        let masked = secrets::mask(&text);
        prop_assert!(!masked.kinds.is_empty(), "not found: {}", text);
        let core = secret_core(&secret);
        let kept: String = masked.text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        for window in core.windows(5) {
            let window: String = window.iter().collect();
            prop_assert!(!kept.contains(&window), "{:?} survives in {:?}", window, masked.text);
        }
    }

    #[test]
    fn text_without_digits_letters_or_list_characters_is_unchanged(text in any::<String>()) {
        let text: String = text
            .chars()
            .filter(|c| !c.is_alphanumeric() || !(c.is_ascii() || c.is_numeric() || is_list_han(*c)))
            .collect();
        let masked = secrets::mask(&text);
        prop_assert_eq!(&masked.text, &text);
        prop_assert!(masked.kinds.is_empty());
    }
}

fn is_list_han(c: char) -> bool {
    let word = c.to_string();
    Language::SimplifiedChinese.find_word(&word).is_some()
        || Language::TraditionalChinese.find_word(&word).is_some()
}
