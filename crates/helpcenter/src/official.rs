//! "Is this really okwallet?" — for a phone number, a link, a domain, an email address or a
//! social account: official or not, which channel it is, and, when it is not ours, why it may
//! have been made to look like ours.
//!
//! Phone numbers are normalised to E.164 (spaces, dashes, brackets and full-width digits as
//! people type them; `00` and a national `0` prefix; a default country for numbers without
//! one) and compared exactly. Hosts are compared after reading punycode back to Unicode; a host
//! that is not ours is checked for the tricks phishers use on a known name: look-alike letters
//! (Cyrillic `о` for `o`, `rn` for `m`, `0` for `o`), a typo within two edits, our name inside a
//! foreign domain (`okwallet.example.login-check.com`, `okwallet-support.com`), and our domain in
//! a link's user part (`https://okwallet.example@evil.test`).

/// What the operator publishes as its own.
#[derive(Clone, Debug, Default)]
pub struct OfficialList {
    /// E.164 numbers (`+864001234567`) with the channel each one is.
    pub phones: Vec<(String, String)>,
    /// Domains (lowercase, Unicode or ASCII); their subdomains are ours too.
    pub domains: Vec<(String, String)>,
    /// Email addresses; any address at one of `domains` is ours too.
    pub emails: Vec<(String, String)>,
    /// (platform, handle without `@`, channel).
    pub handles: Vec<(String, String, String)>,
    /// The country calling code for numbers written without one, e.g. `86`.
    pub default_country_code: String,
}

/// What kind of value was asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Phone,
    Url,
    Domain,
    Email,
    Handle,
    Unrecognised,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Url => "url",
            Kind::Domain => "domain",
            Kind::Email => "email",
            Kind::Handle => "handle",
            Kind::Unrecognised => "unrecognised",
        }
    }
}

/// Why a value that is not ours looks like ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// Written in punycode (`xn--…`): the browser may show other letters than it seems.
    Punycode,
    /// Letters that look like ours but are others (`okwаllet` with a Cyrillic `а`).
    LookAlikeLetters { of: String },
    /// One or two letters off ours.
    Typo { of: String },
    /// Our name inside someone else's domain.
    OurNameInside { of: String },
    /// Our domain written before `@` in a link: the link goes to the part after it.
    OurDomainAsUserName { of: String },
}

impl Warning {
    pub fn code(&self) -> &'static str {
        match self {
            Warning::Punycode => "punycode",
            Warning::LookAlikeLetters { .. } => "look_alike_letters",
            Warning::Typo { .. } => "typo_of_official",
            Warning::OurNameInside { .. } => "official_name_inside",
            Warning::OurDomainAsUserName { .. } => "official_domain_as_user_name",
        }
    }
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub kind: Kind,
    pub official: bool,
    /// The channel it is, when official.
    pub channel: Option<String>,
    /// The value as compared (E.164, the host, the address, `platform:handle`).
    pub normalised: String,
    pub warnings: Vec<Warning>,
}

impl OfficialList {
    /// Checks one value of any kind.
    pub fn check(&self, value: &str) -> Verdict {
        let value = value.trim();
        match classify(value) {
            Kind::Phone => self.check_phone(value),
            Kind::Email => self.check_email(value),
            Kind::Handle => self.check_handle(value),
            Kind::Url => self.check_url(value),
            Kind::Domain => self.check_host(&value.to_lowercase(), Kind::Domain),
            Kind::Unrecognised => Verdict {
                kind: Kind::Unrecognised,
                official: false,
                channel: None,
                normalised: value.to_owned(),
                warnings: Vec::new(),
            },
        }
    }

    fn check_phone(&self, value: &str) -> Verdict {
        let normalised =
            normalise_phone(value, &self.default_country_code).unwrap_or_else(|| value.to_owned());
        let channel = self
            .phones
            .iter()
            .find(|(number, _)| *number == normalised)
            .map(|(_, c)| c.clone());
        Verdict {
            kind: Kind::Phone,
            official: channel.is_some(),
            channel,
            normalised,
            warnings: Vec::new(),
        }
    }

    fn check_email(&self, value: &str) -> Verdict {
        let address = value.trim_start_matches("mailto:").to_lowercase();
        let (_, domain) = address.split_once('@').unwrap_or(("", &address));
        if let Some((_, channel)) = self
            .emails
            .iter()
            .find(|(e, _)| e.to_lowercase() == address)
        {
            return Verdict {
                kind: Kind::Email,
                official: true,
                channel: Some(channel.clone()),
                normalised: address,
                warnings: Vec::new(),
            };
        }
        let host = self.check_host(domain, Kind::Email);
        Verdict {
            kind: Kind::Email,
            official: host.official,
            channel: host.channel,
            normalised: address,
            warnings: host.warnings,
        }
    }

    fn check_handle(&self, value: &str) -> Verdict {
        // `platform:@handle` or `@handle`.
        let (platform, handle) = match value.split_once(':') {
            Some((p, h)) => (p.trim().to_lowercase(), h),
            None => (String::new(), value),
        };
        let handle = handle.trim().trim_start_matches('@').to_lowercase();
        let normalised = if platform.is_empty() {
            handle.clone()
        } else {
            format!("{platform}:{handle}")
        };
        let mine = self
            .handles
            .iter()
            .filter(|(p, _, _)| platform.is_empty() || p.to_lowercase() == platform);
        let mut warnings = Vec::new();
        for (_, official, channel) in mine {
            let official = official.trim_start_matches('@').to_lowercase();
            if official == handle {
                return Verdict {
                    kind: Kind::Handle,
                    official: true,
                    channel: Some(channel.clone()),
                    normalised,
                    warnings,
                };
            }
            for w in look_alike(&handle, &official) {
                if !warnings
                    .iter()
                    .any(|seen: &Warning| seen.code() == w.code())
                {
                    warnings.push(w);
                }
            }
        }
        Verdict {
            kind: Kind::Handle,
            official: false,
            channel: None,
            normalised,
            warnings,
        }
    }

    fn check_url(&self, value: &str) -> Verdict {
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("https://{value}")
        };
        let Ok(url) = url::Url::parse(&with_scheme) else {
            return Verdict {
                kind: Kind::Url,
                official: false,
                channel: None,
                normalised: value.to_owned(),
                warnings: Vec::new(),
            };
        };
        let host = url.host_str().unwrap_or("").to_owned();
        let mut verdict = self.check_host(&host, Kind::Url);
        let user = url.username().to_lowercase();
        if !user.is_empty() {
            for (domain, _) in &self.domains {
                if user.contains(&ascii_host(domain)) || user.contains(&domain.to_lowercase()) {
                    verdict
                        .warnings
                        .push(Warning::OurDomainAsUserName { of: domain.clone() });
                }
            }
        }
        verdict.normalised = url.to_string();
        verdict
    }

    /// A host (ASCII or Unicode) against our domains.
    fn check_host(&self, host: &str, kind: Kind) -> Verdict {
        let host = host.trim().trim_end_matches('.').to_lowercase();
        let (shown, punycode) = unicode_host(&host);
        let mut warnings = Vec::new();
        if punycode {
            warnings.push(Warning::Punycode);
        }
        for (domain, channel) in &self.domains {
            let (ours, _) = unicode_host(&domain.to_lowercase());
            if shown == ours || shown.ends_with(&format!(".{ours}")) {
                return Verdict {
                    kind,
                    official: true,
                    channel: Some(channel.clone()),
                    normalised: shown,
                    warnings: Vec::new(),
                };
            }
        }
        for (domain, _) in &self.domains {
            let (ours, _) = unicode_host(&domain.to_lowercase());
            for w in host_look_alike(&shown, &ours) {
                // One warning of each kind, for the first of our domains it imitates.
                if !warnings
                    .iter()
                    .any(|seen: &Warning| seen.code() == w.code())
                {
                    warnings.push(w);
                }
            }
        }
        Verdict {
            kind,
            official: false,
            channel: None,
            normalised: shown,
            warnings,
        }
    }
}

/// What a value seems to be, from its shape.
pub fn classify(value: &str) -> Kind {
    let v = value.trim();
    if v.is_empty() {
        return Kind::Unrecognised;
    }
    if v.starts_with("mailto:")
        || (v.contains('@') && !v.starts_with('@') && !v.contains("://") && !v.contains(':'))
    {
        let (local, domain) = v
            .trim_start_matches("mailto:")
            .split_once('@')
            .unwrap_or(("", ""));
        if !local.is_empty() && domain.contains('.') && !local.contains('/') {
            return Kind::Email;
        }
    }
    if v.starts_with('@') || (v.contains(":@") && !v.contains("://")) {
        return Kind::Handle;
    }
    let digits = v.chars().filter(|c| ascii_digit(*c).is_some()).count();
    let phone_chars = v
        .chars()
        .all(|c| ascii_digit(c).is_some() || " -().+＋\u{3000}".contains(c));
    if phone_chars && digits >= 5 {
        return Kind::Phone;
    }
    if v.contains("://") || v.contains('/') {
        return Kind::Url;
    }
    if v.contains('.') && !v.contains(' ') {
        return Kind::Domain;
    }
    Kind::Unrecognised
}

/// A digit, ASCII or full-width (what Chinese input methods type), as ASCII.
pub fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')),
        _ => None,
    }
}

/// A phone number as E.164 (`+8640012345678`), or `None` when it cannot be one.
pub fn normalise_phone(value: &str, default_country_code: &str) -> Option<String> {
    let trimmed = value.trim();
    let plus = trimmed.starts_with('+') || trimmed.starts_with('＋');
    let digits: String = trimmed.chars().filter_map(ascii_digit).collect();
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = digits.strip_prefix('0') {
        // A national number with its trunk prefix: 010-… in Beijing, 020 … in London.
        format!("{default_country_code}{rest}")
    } else {
        format!("{default_country_code}{digits}")
    };
    // E.164: at most 15 digits, a country code that does not start with 0.
    let ok = (7..=15).contains(&international.len()) && !international.starts_with('0');
    ok.then(|| format!("+{international}"))
}

/// A host as people read it (punycode labels decoded), and whether any label was punycode.
fn unicode_host(host: &str) -> (String, bool) {
    let punycode = host.split('.').any(|label| label.starts_with("xn--"));
    let (unicode, result) = idna::domain_to_unicode(host);
    if result.is_err() {
        return (host.to_owned(), punycode);
    }
    (unicode, punycode)
}

fn ascii_host(domain: &str) -> String {
    idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_lowercase())
}

/// The tricks a foreign `host` plays on our domain `ours` (both Unicode, lowercase).
fn host_look_alike(host: &str, ours: &str) -> Vec<Warning> {
    let our_name = ours.split('.').next().unwrap_or(ours);
    let labels: Vec<&str> = host.split('.').collect();
    let mut warnings = Vec::new();
    // Compare the host without its last label (the TLD) and each label to our name.
    let host_main = labels
        .len()
        .checked_sub(1)
        .map(|n| labels[..n].join("."))
        .unwrap_or_default();
    let candidates: Vec<&str> = labels.iter().copied().chain([host_main.as_str()]).collect();
    for candidate in candidates {
        for w in look_alike(candidate, our_name) {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    let inside = host.contains(ours)
        || labels
            .iter()
            .any(|l| *l == our_name || l.split('-').any(|part| part == our_name));
    if inside && warnings.is_empty() {
        warnings.push(Warning::OurNameInside {
            of: ours.to_owned(),
        });
    }
    warnings
}

/// How `candidate` imitates `ours` (a name or a handle): look-alike letters, or a typo.
fn look_alike(candidate: &str, ours: &str) -> Vec<Warning> {
    if candidate == ours || candidate.is_empty() {
        return Vec::new();
    }
    if skeleton(candidate) == skeleton(ours) {
        return vec![Warning::LookAlikeLetters {
            of: ours.to_owned(),
        }];
    }
    let distance = edit_distance(candidate, ours);
    if ours.chars().count() >= 5 && distance <= 2 {
        return vec![Warning::Typo {
            of: ours.to_owned(),
        }];
    }
    Vec::new()
}

/// A name with look-alike letters folded to one shape and separators dropped.
fn skeleton(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .map(|c| match c {
            'а' | 'α' | 'ɑ' | 'à' | 'á' | 'â' | 'ä' | 'å' => 'a',
            'е' | 'ε' | 'è' | 'é' | 'ê' | 'ë' | '3' => 'e',
            'о' | 'ο' | 'ö' | 'ó' | 'ò' | '0' | 'σ' => 'o',
            'і' | 'ı' | 'í' | 'ì' | 'ï' | '1' | 'l' | '|' | 'ӏ' => 'l',
            'р' | 'ρ' => 'p',
            'с' | 'ϲ' => 'c',
            'х' | 'χ' => 'x',
            'у' | 'ү' => 'y',
            'ԁ' => 'd',
            'ј' => 'j',
            'ѕ' | '5' => 's',
            'к' | 'κ' => 'k',
            'ν' => 'v',
            'ш' | 'ω' => 'w',
            other => other,
        })
        .collect();
    folded.replace("rn", "m").replace("vv", "w")
}

/// Damerau–Levenshtein distance (adjacent swaps count one), on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> OfficialList {
        OfficialList {
            phones: vec![
                ("+864008001234".into(), "hotline_cn".into()),
                ("+85230012345".into(), "hotline_hk".into()),
                ("+18005550199".into(), "hotline_us".into()),
            ],
            domains: vec![
                ("okwallet.example".into(), "website".into()),
                ("okwallet.cn".into(), "website_cn".into()),
            ],
            emails: vec![("support@okwallet.example".into(), "email".into())],
            handles: vec![
                ("weibo".into(), "OKWallet官方".into(), "weibo".into()),
                ("x".into(), "okwallet".into(), "x".into()),
            ],
            default_country_code: "86".into(),
        }
    }

    fn codes(v: &Verdict) -> Vec<&'static str> {
        v.warnings.iter().map(Warning::code).collect()
    }

    #[test]
    fn a_table_of_official_and_unofficial_values() {
        let list = ours();
        // (value, kind, official, channel, warning codes)
        type Case = (
            &'static str,
            Kind,
            bool,
            Option<&'static str>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "400-800-1234",
                Kind::Phone,
                true,
                Some("hotline_cn"),
                vec![],
            ),
            (
                "+86 400 800 1234",
                Kind::Phone,
                true,
                Some("hotline_cn"),
                vec![],
            ),
            (
                "0086 4008001234",
                Kind::Phone,
                true,
                Some("hotline_cn"),
                vec![],
            ),
            (
                "＋８６ ４００８００１２３４",
                Kind::Phone,
                true,
                Some("hotline_cn"),
                vec![],
            ),
            ("(852) 3001 2345", Kind::Phone, false, None, vec![]),
            (
                "+852 3001 2345",
                Kind::Phone,
                true,
                Some("hotline_hk"),
                vec![],
            ),
            (
                "+1 (800) 555-0199",
                Kind::Phone,
                true,
                Some("hotline_us"),
                vec![],
            ),
            ("400-800-1235", Kind::Phone, false, None, vec![]),
            ("+86 138 0013 8000", Kind::Phone, false, None, vec![]),
            (
                "okwallet.example",
                Kind::Domain,
                true,
                Some("website"),
                vec![],
            ),
            (
                "help.okwallet.example",
                Kind::Domain,
                true,
                Some("website"),
                vec![],
            ),
            (
                "https://okwallet.example/help?x=1",
                Kind::Url,
                true,
                Some("website"),
                vec![],
            ),
            (
                "HTTPS://OKWALLET.CN/",
                Kind::Url,
                true,
                Some("website_cn"),
                vec![],
            ),
            (
                "okwallet.example.",
                Kind::Domain,
                true,
                Some("website"),
                vec![],
            ),
            (
                "okwa11et.example",
                Kind::Domain,
                false,
                None,
                vec!["look_alike_letters"],
            ),
            (
                "okwaIlet.example",
                Kind::Domain,
                false,
                None,
                vec!["typo_of_official"],
            ),
            (
                "okwallet-example.com",
                Kind::Domain,
                false,
                None,
                vec!["official_name_inside"],
            ),
            (
                "okwalet.example",
                Kind::Domain,
                false,
                None,
                vec!["typo_of_official"],
            ),
            (
                "okwlalet.com",
                Kind::Domain,
                false,
                None,
                vec!["typo_of_official"],
            ),
            (
                "okwallet.example.login-check.com",
                Kind::Domain,
                false,
                None,
                vec!["official_name_inside"],
            ),
            (
                "okwallet-support.com",
                Kind::Domain,
                false,
                None,
                vec!["official_name_inside"],
            ),
            (
                "https://okwallet.example@evil.test/login",
                Kind::Url,
                false,
                None,
                vec!["official_domain_as_user_name"],
            ),
            // Cyrillic "о" (U+043E) in place of Latin "o", as typed and as punycode.
            (
                "http://\u{043e}kwallet.example/",
                Kind::Url,
                false,
                None,
                vec!["punycode", "look_alike_letters"],
            ),
            (
                "xn--kwallet-8ig.example",
                Kind::Domain,
                false,
                None,
                vec!["punycode", "look_alike_letters"],
            ),
            ("example.com", Kind::Domain, false, None, vec![]),
            (
                "support@okwallet.example",
                Kind::Email,
                true,
                Some("email"),
                vec![],
            ),
            (
                "Service@Help.OKWallet.example",
                Kind::Email,
                true,
                Some("website"),
                vec![],
            ),
            (
                "support@okwallet-help.com",
                Kind::Email,
                false,
                None,
                vec!["official_name_inside"],
            ),
            (
                "support@0kwallet.example",
                Kind::Email,
                false,
                None,
                vec!["look_alike_letters"],
            ),
            (
                "weibo:@OKWallet官方",
                Kind::Handle,
                true,
                Some("weibo"),
                vec![],
            ),
            ("x:@okwallet", Kind::Handle, true, Some("x"), vec![]),
            ("x:@okwallet_support", Kind::Handle, false, None, vec![]),
            (
                "x:@okwa1let",
                Kind::Handle,
                false,
                None,
                vec!["look_alike_letters"],
            ),
            (
                "@0kwallet",
                Kind::Handle,
                false,
                None,
                vec!["look_alike_letters"],
            ),
            ("hello", Kind::Unrecognised, false, None, vec![]),
        ];
        assert!(cases.len() >= 30);
        for (value, kind, official, channel, warnings) in cases {
            let v = list.check(value);
            assert_eq!(
                (v.kind, v.official, v.channel.as_deref(), codes(&v)),
                (kind, official, channel, warnings),
                "{value} → {v:?}"
            );
        }
    }

    #[test]
    fn phone_numbers_normalise_to_e164() {
        assert_eq!(
            normalise_phone("010-1234 5678", "86").as_deref(),
            Some("+861012345678")
        );
        assert_eq!(
            normalise_phone("00852 3001 2345", "86").as_deref(),
            Some("+85230012345")
        );
        assert_eq!(normalise_phone("1234", "86"), None, "too short");
        assert_eq!(
            normalise_phone("+0 123 456 789", "86"),
            None,
            "no country code starts with 0"
        );
        assert_eq!(normalise_phone("1234567890123456", "86"), None, "too long");
    }

    #[test]
    fn edit_distance_counts_swaps_once() {
        assert_eq!(edit_distance("okwallet", "okwallet"), 0);
        assert_eq!(edit_distance("okwallet", "okwalet"), 1);
        assert_eq!(edit_distance("okwallet", "kowallet"), 1);
        assert_eq!(edit_distance("okwallet", "wallet"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
