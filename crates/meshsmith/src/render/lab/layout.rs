//! Text layout for the lab's report: every line at most `WIDTH` columns. Text wraps at spaces
//! under a hanging indent (a word longer than a whole line is cut); a `Table` aligns short
//! columns, gives a first cell too long for its column a line of its own, and prints a row's
//! details wrapped under it. Columns are counted in characters, ANSI colour codes excluded.

use std::fmt::Write;

/// The widest line the lab prints.
pub const WIDTH: usize = 100;

/// Visible columns of `s`: characters outside ANSI escape sequences.
pub fn cols(s: &str) -> usize {
    let mut n = 0;
    let mut escape = false;
    for c in s.chars() {
        match (escape, c) {
            (true, 'm') => escape = false,
            (true, _) => {}
            (false, '\x1b') => escape = true,
            (false, _) => n += 1,
        }
    }
    n
}

/// `text` in lines of at most `width` columns, broken at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && cols(&line) + 1 + cols(word) <= width {
            line.push(' ');
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let chars: Vec<char> = word.chars().collect();
        let mut pieces = chars.chunks(width).peekable();
        while let Some(piece) = pieces.next() {
            let piece: String = piece.iter().collect();
            match pieces.peek() {
                Some(_) => lines.push(piece),
                None => line = piece,
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `lead` then `text`, wrapped so every line fits `WIDTH`; continuation lines are indented
/// as deep as `lead` is wide.
pub fn hanging(out: &mut String, lead: &str, text: &str) {
    under(out, lead, cols(lead), text);
}

/// An item of a list: two spaces in, continuation lines four, so each item stands out.
pub fn item(out: &mut String, text: &str) {
    under(out, "  ", 4, text);
}

fn under(out: &mut String, lead: &str, indent: usize, text: &str) {
    let width = WIDTH.saturating_sub(indent.max(cols(lead)));
    for (i, line) in wrap(text, width).iter().enumerate() {
        let lead = if i == 0 { lead } else { "" };
        let pad = if i == 0 { 0 } else { indent };
        let _ = writeln!(out, "{lead}{:pad$}{line}", "");
    }
}

/// Short columns aligned under their headers; see the module documentation.
pub struct Table {
    headers: Vec<String>,
    /// Columns aligned to the right (figures).
    right: Vec<bool>,
    rows: Vec<(Vec<String>, Vec<String>)>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: vec![false; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Align column `i` to the right.
    pub fn right(mut self, i: usize) -> Self {
        if let Some(r) = self.right.get_mut(i) {
            *r = true;
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push((cells, Vec::new()));
    }

    /// A line of detail under the last row, wrapped.
    pub fn detail(&mut self, text: String) {
        if let Some((_, details)) = self.rows.last_mut() {
            details.push(text);
        }
    }

    /// The table with every line starting `indent` spaces in.
    pub fn render(&self, indent: usize) -> String {
        let n = self.headers.len();
        let width = |i: usize| {
            self.rows
                .iter()
                .filter_map(|(cells, _)| cells.get(i).map(|c| cols(c)))
                .chain([cols(&self.headers[i])])
                .max()
                .unwrap_or(0)
        };
        let mut widths: Vec<usize> = (0..n).map(width).collect();
        let others: usize = widths.iter().skip(1).map(|w| w + 2).sum();
        let room = WIDTH.saturating_sub(indent + others);
        widths[0] = widths[0].min(room).max(cols(&self.headers[0]));
        let mut out = String::new();
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        self.line(&mut out, indent, &widths, &headers);
        for (cells, details) in &self.rows {
            let mut cells: Vec<&str> = cells.iter().map(String::as_str).collect();
            cells.resize(n, "");
            if cols(cells[0]) > widths[0] {
                hanging(&mut out, &" ".repeat(indent), cells[0]);
                cells[0] = "";
            }
            self.line(&mut out, indent, &widths, &cells);
            for detail in details {
                hanging(&mut out, &" ".repeat(indent + 4), detail);
            }
        }
        out
    }

    fn line(&self, out: &mut String, indent: usize, widths: &[usize], cells: &[&str]) {
        let mut line = " ".repeat(indent);
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = w.saturating_sub(cols(cell));
            if self.right[i] {
                let _ = write!(line, "{:pad$}{cell}", "");
            } else {
                let _ = write!(line, "{cell}{:pad$}", "");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_cuts_only_words_longer_than_a_line() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefgh ij", 3), ["abc", "def", "gh", "ij"]);
        assert_eq!(wrap("", 10), [""]);
        let mut out = String::new();
        hanging(&mut out, "  why  ", &"word ".repeat(40));
        assert!(out.lines().all(|l| cols(l) <= WIDTH), "{out}");
        assert!(
            out.lines().skip(1).all(|l| l.starts_with("       word")),
            "{out}"
        );
        assert_eq!(cols("\x1b[31;1mFAIL\x1b[0m"), 4);
    }

    #[test]
    fn a_first_cell_too_long_for_its_column_gets_a_line_of_its_own() {
        let mut t = Table::new(&["service", "pods"]).right(1);
        t.row(vec!["short".into(), "2".into()]);
        t.row(vec!["x".repeat(150), "12".into()]);
        t.detail("retried on connect-failure ".repeat(8));
        let text = t.render(2);
        assert!(text.lines().all(|l| cols(l) <= WIDTH), "{text}");
        assert!(text.starts_with("  service"), "{text}");
        assert!(text.contains("\n  short"), "{text}");
        assert!(text.lines().any(|l| l.trim() == "12"), "{text}");
        assert!(text.contains("\n      retried on"), "{text}");
    }
}
