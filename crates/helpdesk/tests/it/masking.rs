//! Masking: each kind of personal data as a table, Chinese and Latin, short and long, with
//! full-width digits and the empty and one-character edges.

use helpdesk::masking::{address, email, free_text, id_number, name, phone};

fn table(f: fn(&str) -> String, cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        assert_eq!(f(input), *expected, "{input:?}");
    }
}

#[test]
fn emails() {
    table(
        email,
        &[
            ("alice.smith@example.com", "al***h@example.com"),
            ("bobby1@example.com", "bo***1@example.com"),
            ("alice@example.com", "a***e@example.com"),
            ("anna@x.cn", "a***a@x.cn"),
            ("bob@qq.com", "b***@qq.com"),
            ("bo@qq.com", "b***@qq.com"),
            ("a@qq.com", "***@qq.com"),
            ("张三丰先生@例子.中国", "张***生@例子.中国"),
            ("\"a@b\"@example.com", "\"***\"@example.com"),
            ("  carol.x@example.org ", "ca***x@example.org"),
            ("", "***"),
            ("a", "***"),
            ("no-at-sign", "***"),
            ("@example.com", "***"),
            ("alice@", "***"),
        ],
    );
}

#[test]
fn phones() {
    table(
        phone,
        &[
            ("+8613812345678", "+86 138****5678"),
            ("+86 138-1234-5678", "+86 138****5678"),
            ("＋８６１３８１２３４５６７８", "+86 138****5678"),
            ("13812345678", "138****5678"),
            ("+1 (415) 555-0123", "+1 ******0123"),
            ("+852 9123 4567", "+852 ****4567"),
            ("+447911123456", "+44 ******3456"),
            ("+3712345678", "+371 *****78"),
            ("5551234", "*****34"),
            ("1234", "****"),
            ("7", "*"),
            ("+86", "+86"),
            ("", "***"),
            ("call me", "***"),
            ("138abc5678", "***"),
        ],
    );
}

#[test]
fn names() {
    table(
        name,
        &[
            ("张三丰", "张**"),
            ("张三", "张*"),
            ("欧阳娜娜", "欧***"),
            ("张", "张"),
            ("Alice Smith", "Alice S."),
            ("  Mary   Ann Smith ", "Mary A. S."),
            ("Émile Zola", "Émile Z."),
            ("Alice", "A****"),
            ("A", "A"),
            ("", ""),
            ("   ", ""),
        ],
    );
}

#[test]
fn addresses() {
    table(
        address,
        &[
            ("0x1234567890abcdef1234567890abcdef1234abcd", "0x1234…abcd"),
            ("TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", "TQn9Y2…bLSE"),
            ("0x12345678ab", "0x12345678ab"),
            ("0x123456789abc", "0x1234…9abc"),
            ("", ""),
        ],
    );
}

#[test]
fn id_numbers() {
    table(
        id_number,
        &[
            ("11010519491231002X", "**************002X"),
            ("E12345678", "*****5678"),
            ("12345678", "****5678"),
            ("123456", "***456"),
            ("1", "*"),
            ("", ""),
        ],
    );
}

#[test]
fn free_texts() {
    table(
        free_text,
        &[
            ("", ""),
            ("nothing to hide here", "nothing to hide here"),
            (
                "请联系我 alice.smith@example.com，谢谢",
                "请联系我 al***h@example.com，谢谢",
            ),
            ("mail bob@qq.com.", "mail b***@qq.com."),
            ("电话13812345678", "电话138****5678"),
            ("call +86 138 1234 5678 now", "call +86 138****5678 now"),
            ("手机：１３８１２３４５６７８。", "手机：138****5678。"),
            ("tel 555-1234 ok", "tel *****34 ok"),
            (
                "sent to 0x1234567890abcdef1234567890abcdef1234abcd yesterday",
                "sent to 0x1234…abcd yesterday",
            ),
            // Amounts and short numbers stay.
            ("I sent 12345678.90 USDT", "I sent 12345678.90 USDT"),
            ("I sent 1,234,567 USDT", "I sent 1,234,567 USDT"),
            ("code 123456 expired", "code 123456 expired"),
            // An address's digits are not a phone; an email's digits are not either.
            ("0xAbCdEf0123456789abcdef0123456789ABCDEF01", "0xAbCd…EF01"),
            ("13812345678@qq.com", "13***8@qq.com"),
            ("a short 0x1234 hex", "a short 0x1234 hex"),
            ("glued abc1234567890", "glued abc1234567890"),
        ],
    );
}

#[test]
fn masks_never_split_characters_and_never_reveal_more_than_half() {
    for local in ["a", "ab", "abc", "abcd", "abcde", "abcdef", "张三丰先生们"] {
        let masked = email(&format!("{local}@x.cn"));
        let visible = masked.chars().filter(|c| *c != '*').count() - "@x.cn".len();
        assert!(visible * 2 <= local.chars().count(), "{local} → {masked}");
    }
    for text in ["", "a", "张", "0", "+", "@", "0x", "＋", "１"] {
        for f in [email, phone, name, address, id_number, free_text] {
            // Returning at all proves no char boundary was cut (a String cannot hold one).
            let _ = f(text);
        }
    }
}
