//! A line of an input file, shown beside a finding, with its credentials masked. A line
//! alone does not always say whose value it holds (`value: hunter2` under
//! `- name: DB_PASSWORD`), so the line before is read for the name.

use super::{is_secret_name, text, MASK};

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

#[cfg(test)]
mod tests {
    use super::*;

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
