//! Durations as Istio writes them (`3s`, `500ms`, `1m30s`, `1.5s`), read the way Go's
//! `time.ParseDuration` reads them, and printed back for messages.

/// Seconds in a duration such as `1m30s`; `None` when it does not parse.
pub fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    if text == "0" {
        return Some(0.0);
    }
    let mut rest = text;
    let mut total = 0.0;
    let mut any = false;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
        any = true;
    }
    any.then_some(total)
}

/// `2s`, `1.5s`, `250ms`: short and exact enough for a message.
pub fn format_seconds(seconds: f64) -> String {
    if seconds > 0.0 && seconds < 1.0 {
        format!("{}ms", (seconds * 1000.0).round())
    } else if seconds.fract() == 0.0 {
        format!("{seconds:.0}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations_parse_to_seconds() {
        assert_eq!(parse_duration("3s"), Some(3.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("1m30s"), Some(90.0));
        assert_eq!(parse_duration("1.5s"), Some(1.5));
        assert_eq!(parse_duration("0"), Some(0.0));
        assert_eq!(parse_duration("3"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("3 s"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn seconds_print_compactly() {
        assert_eq!(format_seconds(2.0), "2s");
        assert_eq!(format_seconds(0.25), "250ms");
        assert_eq!(format_seconds(1.5), "1.5s");
    }
}
