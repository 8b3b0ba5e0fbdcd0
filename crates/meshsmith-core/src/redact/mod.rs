//! Credentials out of everything meshsmith shows: a value whose name says it is a secret
//! (`DB_PASSWORD`, `PGPASSWORD`, `API_TOKEN`, `--client-secret`), the user and password of a
//! URL (`postgres://app:s3cret@db:5432`), secret query parameters and `key=value` pairs
//! (`?api_key=...`, `password: ...`), and what a shell command passes as a credential
//! (`export PGPASSWORD=...`, `--token ...`, `curl -u user:...`, `Authorization: Bearer ...`)
//! become `***`. Evidence, reasons, findings and the source lines shown beside them are
//! built from redacted text, so no output (text, JSON, SARIF, explain, generated files,
//! reports) can carry what the input kept secret.

mod command;
mod source;

pub use command::argument;
pub use source::source_line;

/// What stands for a removed credential.
pub const MASK: &str = "***";

/// Words that make a name a secret's, matched at the end of its `_`, `-` and `.` separated
/// parts, so that run-together names (`PGPASSWORD`, `authToken`) count too.
const SECRET_WORDS: [&str; 8] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "SIGNATURE",
];

/// Whether a setting, flag or parameter called `name` holds a credential.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.trim_start_matches('-').to_ascii_uppercase();
    let parts: Vec<&str> = upper
        .split(['_', '-', '.'])
        .filter(|p| !p.is_empty())
        .collect();
    parts
        .iter()
        .any(|p| SECRET_WORDS.iter().any(|w| p.ends_with(w)))
        || parts.windows(2).any(|w| w[0] == "API" && w[1] == "KEY")
        || parts.windows(2).any(|w| w[0] == "ACCESS" && w[1] == "KEY")
        || parts.windows(2).any(|w| w[0] == "PRIVATE" && w[1] == "KEY")
}

/// `value` as it may be shown: masked whole when `name` is a secret's, else with the
/// credentials inside it masked.
pub fn value(name: &str, value: &str) -> String {
    if is_secret_name(name) && !value.trim().is_empty() {
        MASK.to_string()
    } else {
        text(value)
    }
}

/// `text` with every URL's user and password, every secret query parameter, every
/// `secret_key=value` or `secret_key: value` pair, every `--secret-flag value`, `-u user:pass`
/// and `Authorization` header value masked. Hosts and ports stay, so that evidence quoting a
/// command still shows what it calls.
pub fn text(text: &str) -> String {
    let mut out = userinfo(text);
    out = command::authorization(&out);
    for sep in ['=', ':'] {
        out = pairs(&out, sep);
    }
    command::flag_values(&out)
}

/// `scheme://user:password@host` -> `scheme://***@host`, for every URL in the text.
fn userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, after) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = after
            .find(|c: char| c.is_whitespace() || "/?#\"'`".contains(c))
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str(MASK);
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// `name<sep>value` where `name` is a secret's: the value (up to the next separator of a
/// query string, a comma, a space or a quote) becomes the mask.
fn pairs(text: &str, sep: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(sep) {
        let (before, after) = rest.split_at(i);
        let name_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
            .map_or(0, |j| j + 1);
        let name = &before[name_start..];
        out.push_str(before);
        out.push(sep);
        let after = &after[sep.len_utf8()..];
        // `https://` and `host:port` are not pairs.
        let is_pair = is_secret_name(name) && !after.starts_with("//");
        if !is_pair {
            rest = after;
            continue;
        }
        let lead = after.len() - after.trim_start().len();
        let value = &after[lead..];
        let end = value
            .find(|c: char| c.is_whitespace() || "&;,\"'`}".contains(c))
            .unwrap_or(value.len());
        out.push_str(&after[..lead]);
        if end > 0 {
            out.push_str(MASK);
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_and_others_are_not() {
        for name in [
            "DB_PASSWORD",
            "api_key",
            "API-KEY",
            "STRIPE_SECRET",
            "--client-secret",
            "GITHUB_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "TLS_PRIVATE_KEY",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "PAYMENT_URL",
            "TOKENIZER_HOST",
            "AUTH_SERVICE_URL",
            "PWD",
            "PASSPORT_SVC",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn credentials_are_masked_and_addresses_kept() {
        assert_eq!(value("DB_PASSWORD", "hunter2"), "***");
        assert_eq!(
            text("postgres://app:s3cret@db.shop:5432/orders"),
            "postgres://***@db.shop:5432/orders"
        );
        assert_eq!(
            text("https://api.example.com/v1?api_key=abc123&page=2"),
            "https://api.example.com/v1?api_key=***&page=2"
        );
        assert_eq!(
            text("amqp://guest:guest@rabbitmq:5672, redis://:pw@cache:6379"),
            "amqp://***@rabbitmq:5672, redis://***@cache:6379"
        );
        assert_eq!(
            text("password: hunter2\nhost: db"),
            "password: ***\nhost: db"
        );
        assert_eq!(text("--db-password=hunter2"), "--db-password=***");
        assert_eq!(text("http://orders:8080/api"), "http://orders:8080/api");
        assert_eq!(text("redis:6379"), "redis:6379");
        assert_eq!(text("token: "), "token: ");
    }

    #[test]
    fn run_together_secret_names_are_recognised() {
        for name in [
            "PGPASSWORD",
            "dbPassword",
            "authToken",
            "clientSecret",
            "MYSQL_ROOTPASSWORD",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["TOKENIZER_HOST", "SECRETARY_URL", "PASSWORDLESS_AUTH_URL"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
