//! A panel of the page: a title, labelled rows of text or lists, and files; written as JSON
//! with every text replaced by its number in one shared list ([`Texts`]).

use serde_json::{json, Value};
use std::collections::HashMap;

/// Every text once, numbered in the order first used.
#[derive(Default)]
pub struct Texts {
    pub list: Vec<String>,
    index: HashMap<String, usize>,
}

impl Texts {
    fn id(&mut self, text: &str) -> Value {
        if let Some(&i) = self.index.get(text) {
            return Value::from(i);
        }
        let i = self.list.len();
        self.list.push(text.to_string());
        self.index.insert(text.to_string(), i);
        Value::from(i)
    }
}

/// Rows in order; an empty list or text is left out.
#[derive(Default)]
pub struct Panel {
    pub title: String,
    rows: Vec<(&'static str, Row)>,
    /// Files, and whether each is linked (written beside the report).
    pub links: Vec<(String, bool)>,
}

enum Row {
    Text(String),
    List(Vec<String>),
}

impl Panel {
    pub fn text(&mut self, label: &'static str, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.rows.push((label, Row::Text(text)));
        }
    }

    pub fn list(&mut self, label: &'static str, items: Vec<String>) {
        if !items.is_empty() {
            self.rows.push((label, Row::List(items)));
        }
    }

    pub fn done(self, texts: &mut Texts) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|(label, row)| {
                let value = match row {
                    Row::Text(t) => texts.id(t),
                    Row::List(items) => items.iter().map(|t| texts.id(t)).collect(),
                };
                json!([texts.id(label), value])
            })
            .collect();
        let links: Vec<Value> = self
            .links
            .iter()
            .map(|(file, linked)| json!([texts.id(file), u8::from(*linked)]))
            .collect();
        json!([texts.id(&self.title), rows, links])
    }
}
