//! Credentials out of everything meshsmith shows: a value whose name says it is a secret
//! (`DB_PASSWORD`, `PGPASSWORD`, `API_TOKEN`, `--client-secret`), the user and password of a
//! URL (`postgres://app:s3cret@db:5432`), secret query parameters and `key=value` pairs
//! (`?api_key=...`, `password: ...`), and what a shell command passes as a credential
//! (`export PGPASSWORD=...`, `--token ...`, `curl -u user:...`, `Authorization: Bearer ...`)
//! become `***`. Evidence, reasons, findings and the source lines shown beside them are
//! built from redacted text, so no output (text, JSON, SARIF, explain, generated files,
//! reports) can carry what the input kept secret.

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
    out = authorization(&out);
    for sep in ['=', ':'] {
        out = pairs(&out, sep);
    }
    flag_values(&out)
}

/// A line of an input file as it may be shown beside a finding: masked as [`text`] does, and
/// the `value:` of an entry whose `name:` (earlier on the line, or on the line before) is a
/// secret's masked whole, as in `- name: DB_PASSWORD` / `value: hunter2`.
pub fn source_line(previous: Option<&str>, line: &str) -> String {
    let Some(at) = find_key(line, "value") else {
        return text(line);
    };
    let name =
        key_value(&line[..at], "name").or_else(|| previous.and_then(|p| key_value(p, "name")));
    if !name.is_some_and(is_secret_name) {
        return text(line);
    }
    let value_start = at + "value:".len();
    let rest = &line[value_start..];
    let lead = rest.len() - rest.trim_start().len();
    let end = rest[lead..]
        .find([',', '}'])
        .map_or(rest.trim_end().len(), |i| lead + i);
    if end <= lead {
        return text(line);
    }
    format!(
        "{}{}{MASK}{}",
        &line[..value_start],
        &rest[..lead],
        text(&rest[end..])
    )
}

/// Where `key:` starts in a YAML line, as a key (after the indent, `- `, `{` or `, `).
fn find_key(line: &str, key: &str) -> Option<usize> {
    let pattern = format!("{key}:");
    line.match_indices(&pattern).map(|(i, _)| i).find(|&i| {
        line[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "-{,".contains(c))
    })
}

/// The plain scalar after `key:` in a YAML line, without quotes.
fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = find_key(line, key)? + key.len() + 1;
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches(['"', '\'']))
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

/// Characters that end a credential inside a command or a header: it is one shell word.
fn ends_credential(c: char) -> bool {
    c.is_whitespace() || ";&|,\"'`)}".contains(c)
}

/// `Authorization: Bearer token` (also `Basic`, `Proxy-Authorization`, `authorization=...`,
/// `"Authorization": "..."`) -> `Authorization: Bearer ***`: the scheme stays, the credential
/// goes.
fn authorization(text: &str) -> String {
    const NAME: &str = "authorization";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(NAME) {
        let after_name = from + found + NAME.len();
        from = after_name;
        let Some(value_start) = header_value_start(&text[after_name..]) else {
            continue;
        };
        let value = &text[after_name + value_start..];
        let scheme = value
            .find(|c: char| !c.is_ascii_alphabetic())
            .filter(|&end| end > 0 && value[end..].starts_with(' '))
            .filter(|&end| {
                value[end..]
                    .trim_start()
                    .starts_with(|c| !ends_credential(c))
            })
            .map_or(0, |end| {
                end + value[end..].len() - value[end..].trim_start().len()
            });
        let credential = &value[scheme..];
        let end = credential.find(ends_credential).unwrap_or(credential.len());
        if end == 0 {
            continue;
        }
        let credential_start = after_name + value_start + scheme;
        out.push_str(&text[copied..credential_start]);
        out.push_str(MASK);
        copied = credential_start + end;
        from = copied;
    }
    out.push_str(&text[copied..]);
    out
}

/// Where a header's value starts after its name: past a closing quote, `:` or `=`, blanks
/// and an opening quote. `None` when the name is not followed by a value (`AUTHORIZATION_URL`).
fn header_value_start(rest: &str) -> Option<usize> {
    let after_quote = rest.trim_start_matches(['"', '\'']);
    let after_sep = after_quote
        .trim_start_matches(' ')
        .strip_prefix([':', '='])?;
    let value = after_sep.trim_start().trim_start_matches(['"', '\'']);
    Some(rest.len() - value.len())
}

/// Shell words that pass a credential in the word after a flag: `--password hunter2`,
/// `--token "abc"` -> `--password ***`, `--token "***"`; `-u user:pass` and
/// `--user user:pass` (curl, wget) keep the user.
fn flag_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        let word_len = rest[start..]
            .find(char::is_whitespace)
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        out.push_str(&rest[..start + word_len]);
        rest = &rest[start + word_len..];
        let flag = word
            .trim_start_matches(['"', '\''])
            .trim_end_matches(['"', '\'']);
        let Some(keeps_user) = credential_flag(flag) else {
            continue;
        };
        let blanks = rest.len() - rest.trim_start().len();
        let (masked, len) = masked_word(&rest[blanks..], keeps_user);
        out.push_str(&rest[..blanks]);
        out.push_str(&masked);
        rest = &rest[blanks + len..];
    }
    out.push_str(rest);
    out
}

/// Whether the word after `flag` is a credential: `Some(true)` when it is `user:password`
/// and the user may be shown, `Some(false)` when it is all secret, `None` when it is not.
fn credential_flag(flag: &str) -> Option<bool> {
    if !flag.starts_with('-') || flag.contains('=') {
        None
    } else if matches!(flag, "-u" | "--user" | "--proxy-user") {
        Some(true)
    } else {
        is_secret_name(flag).then_some(false)
    }
}

/// One word of a command (an element of `command` or `args`) as it may be shown, given the
/// word before it: a credential passed as a word of its own after `--password`, `--token`
/// or `-u` is masked, and any word is masked as [`text`] does.
pub fn argument(previous: Option<&str>, word: &str) -> String {
    match previous.and_then(credential_flag) {
        Some(false) if !word.is_empty() && !word.starts_with('-') => MASK.to_string(),
        Some(true) => match word.split_once(':') {
            Some((user, _)) => format!("{user}:{MASK}"),
            None => text(word),
        },
        _ => text(word),
    }
}

/// The word at the start of `rest` with its credential masked (after the first `:` when
/// `keeps_user`), and how much of `rest` it took. Another flag is not a value.
fn masked_word(rest: &str, keeps_user: bool) -> (String, usize) {
    let quote = rest.starts_with(['"', '\'']).then(|| &rest[..1]);
    let body = &rest[quote.map_or(0, str::len)..];
    let end = match quote {
        Some(q) => body.find(q).unwrap_or(body.len()),
        None => body.find(ends_credential).unwrap_or(body.len()),
    };
    let value = &body[..end];
    let secret_from = match value.find(':') {
        Some(colon) if keeps_user => colon + 1,
        _ if keeps_user => value.len(),
        _ => 0,
    };
    if value.starts_with('-') || secret_from == value.len() {
        return (String::new(), 0);
    }
    let taken = quote.map_or(0, str::len) + end;
    let masked = format!("{}{}{MASK}", quote.unwrap_or(""), &value[..secret_from]);
    (masked, taken)
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

    #[test]
    fn shell_commands_lose_their_credentials_and_keep_their_targets() {
        assert_eq!(
            text("export PGPASSWORD=pgINITSECRET1; until nc -z db 5432; do sleep 1; done"),
            "export PGPASSWORD=***; until nc -z db 5432; do sleep 1; done"
        );
        assert_eq!(
            text("curl -H 'Authorization: Bearer eyJSECRET.TOKEN' http://api:8080/ && sleep 1"),
            "curl -H 'Authorization: Bearer ***' http://api:8080/ && sleep 1"
        );
        assert_eq!(
            text("curl -H \"Authorization: Basic dXNlcjpwYXNz\" http://api:8080/"),
            "curl -H \"Authorization: Basic ***\" http://api:8080/"
        );
        assert_eq!(
            text("wget --header=authorization:t0ken api:8080"),
            "wget --header=authorization:*** api:8080"
        );
        assert_eq!(
            text("export X_TOKEN=abc && app --token s3cret --password \"two words\" --host api"),
            "export X_TOKEN=*** && app --token *** --password \"***\" --host api"
        );
        assert_eq!(
            text("curl -u admin:pa55 http://api:8080/ -u bob"),
            "curl -u admin:*** http://api:8080/ -u bob"
        );
        assert_eq!(
            text("mysql --password=hunter2 -h mysql -P 3306"),
            "mysql --password=*** -h mysql -P 3306"
        );
        assert_eq!(
            text("psql postgres://u:pw@db:5432/app?sslmode=disable&token=t1"),
            "psql postgres://***@db:5432/app?sslmode=disable&token=***"
        );
        // Names that only contain the word, and flags whose value is another flag, stay.
        assert_eq!(
            text("AUTHORIZATION_URL=http://authz:8080 app --token --verbose"),
            "AUTHORIZATION_URL=http://authz:8080 app --token --verbose"
        );
    }

    #[test]
    fn a_word_after_a_credential_flag_is_masked() {
        assert_eq!(argument(Some("--token"), "abc def"), "***");
        assert_eq!(argument(Some("--password"), "--host"), "--host");
        assert_eq!(argument(Some("-u"), "admin:pa55"), "admin:***");
        assert_eq!(argument(Some("--host"), "db:5432"), "db:5432");
        assert_eq!(argument(None, "--db-password=x"), "--db-password=***");
    }

    #[test]
    fn source_lines_are_masked_with_their_entry_name() {
        assert_eq!(
            source_line(
                None,
                "          value: amqp://guest:amqpS3CRET@rabbit:5672/"
            ),
            "          value: amqp://***@rabbit:5672/"
        );
        assert_eq!(
            source_line(
                None,
                "  app.env: MONGO=mongodb://u:m0ngoS3CRET@mongo:27017/db"
            ),
            "  app.env: MONGO=mongodb://***@mongo:27017/db"
        );
        assert_eq!(
            source_line(Some("  - name: DB_PASSWORD"), "    value: \"hunter2\""),
            "    value: ***"
        );
        assert_eq!(
            source_line(None, "  - {name: API_TOKEN, value: abc, other: 1}"),
            "  - {name: API_TOKEN, value: ***, other: 1}"
        );
        assert_eq!(
            source_line(
                Some("  - name: ORDERS_URL"),
                "    value: http://orders:8080"
            ),
            "    value: http://orders:8080"
        );
    }
}
