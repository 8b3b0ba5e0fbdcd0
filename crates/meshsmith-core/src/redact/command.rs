//! What a shell command passes as a credential: an `Authorization` header's value, the word
//! after `--password` or `--token`, the password of `-u user:password`. Commands are quoted
//! whole in evidence, so these go and the hosts and ports they call stay.

use super::{is_secret_name, text, MASK};

/// Characters that end a credential inside a command or a header: it is one shell word.
fn ends_credential(c: char) -> bool {
    c.is_whitespace() || ";&|,\"'`)}".contains(c)
}

/// `Authorization: Bearer token` (also `Basic`, `Proxy-Authorization`, `authorization=...`,
/// `"Authorization": "..."`) -> `Authorization: Bearer ***`: the scheme stays, the credential
/// goes.
pub(super) fn authorization(text: &str) -> String {
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
pub(super) fn flag_values(text: &str) -> String {
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
}
