//! YAML (and JSON, which YAML 1.2 reads) text -> one [`Node`] tree per document.
//!
//! Built on the event stream of `saphyr-parser` so that every limit is ours: nesting depth,
//! alias expansion (a "billion laughs" file is refused, not expanded), document count.
//! Merge keys (`<<`) are applied. A key written twice in one mapping is kept with its last
//! value, as `kubectl` does (it warns, then applies), and reported so the caller can warn too.

use super::mapping::{Mapping, Repeat};
use super::Limits;
use crate::model::{Node, Text, Value};
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// Why a text could not be turned into documents. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeError {
    Syntax {
        line: u32,
        col: u32,
        message: String,
    },
    TooDeep {
        line: u32,
        limit: usize,
    },
    AliasBudget {
        line: u32,
        limit: usize,
    },
    UnknownAlias {
        line: u32,
    },
    TooManyDocuments {
        line: u32,
        limit: usize,
    },
    ComplexKey {
        line: u32,
    },
}

impl TreeError {
    pub fn line(&self) -> u32 {
        match self {
            Self::Syntax { line, .. }
            | Self::TooDeep { line, .. }
            | Self::AliasBudget { line, .. }
            | Self::UnknownAlias { line }
            | Self::TooManyDocuments { line, .. }
            | Self::ComplexKey { line } => *line,
        }
    }
}

/// A document and the line it starts on.
pub struct Document {
    pub root: Node,
    pub line: u32,
    /// Keys written twice in one mapping, in the order read.
    pub duplicate_keys: Vec<Repeat>,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        line: u32,
        anchor: usize,
    },
    Map {
        entries: Mapping,
        key: Option<(Text, u32)>,
        line: u32,
        anchor: usize,
    },
}

struct Anchored {
    node: Node,
    size: usize,
}

/// Parses every document of `text`. Stops at the first error: the parser cannot resync.
pub fn parse_documents(text: &str, limits: &Limits) -> Result<Vec<Document>, TreeError> {
    let mut docs = Vec::new();
    each_document(text, limits, |doc| docs.push(doc))?;
    Ok(docs)
}

/// Parses `text` one document at a time, handing each to `on_document` as soon as it is
/// complete, so a large file never holds more than one document's tree. The count of
/// documents read.
pub fn each_document(
    text: &str,
    limits: &Limits,
    mut on_document: impl FnMut(Document),
) -> Result<usize, TreeError> {
    let mut count = 0usize;
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Anchored> = HashMap::new();
    let mut expanded = 0usize;
    let mut doc_line = 1u32;
    let mut root: Option<Node> = None;
    let mut duplicates: Vec<Repeat> = Vec::new();

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            let line = e.marker().line() as u32;
            if e.info().contains("recursion limit") {
                // The scanner has its own, higher, limit for flow collections.
                TreeError::TooDeep {
                    line,
                    limit: limits.max_depth,
                }
            } else {
                TreeError::Syntax {
                    line,
                    col: e.marker().col() as u32 + 1,
                    message: e.info().into(),
                }
            }
        })?;
        let line = span.start.line() as u32;
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                if count >= limits.max_documents {
                    return Err(TreeError::TooManyDocuments {
                        line,
                        limit: limits.max_documents,
                    });
                }
                doc_line = line;
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                let node = root.take().unwrap_or(Node::new(Value::Null, doc_line));
                let duplicate_keys = std::mem::take(&mut duplicates);
                count += 1;
                on_document(Document {
                    root: node,
                    line: doc_line,
                    duplicate_keys,
                });
                None
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = matches!(style, ScalarStyle::Plain);
                // A block scalar's span starts at its first non-empty content line; make the
                // node's line that of the text's first line, so `line + n` is the text's line n.
                let line = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    line.saturating_sub(text.bytes().take_while(|b| *b == b'\n').count() as u32)
                } else {
                    line
                };
                let node = if plain && is_null(&text) {
                    Node::new(Value::Null, line)
                } else {
                    Node::scalar(crate::model::text(text), plain, line)
                };
                Some((node, anchor))
            }
            Event::Alias(id) => {
                let Some(anchored) = anchors.get(&id) else {
                    return Err(TreeError::UnknownAlias { line });
                };
                expanded += anchored.size;
                if expanded > limits.max_alias_nodes {
                    return Err(TreeError::AliasBudget {
                        line,
                        limit: limits.max_alias_nodes,
                    });
                }
                Some((anchored.node.clone(), 0))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(TreeError::TooDeep {
                        line,
                        limit: limits.max_depth,
                    });
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        line,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        entries: Mapping::default(),
                        key: None,
                        line,
                        anchor,
                    }
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    line,
                    anchor,
                }) => Some((
                    Node::new(Value::Seq(items.into_boxed_slice()), line),
                    anchor,
                )),
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    line,
                    anchor,
                    ..
                }) => Some((Node::new(Value::Map(entries.into_entries()), line), anchor)),
                _ => None,
            },
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            let size = count_nodes(&node);
            anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    size,
                },
            );
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let text = match &node.value {
                        Value::Scalar { text, .. } => text.clone(),
                        Value::Null => Text::default(),
                        _ => return Err(TreeError::ComplexKey { line: node.line }),
                    };
                    *key = Some((text, node.line));
                }
                Some((k, key_line)) => duplicates.extend(entries.insert(k, key_line, node)),
            },
        }
    }
    if let Some(node) = root.take() {
        count += 1;
        on_document(Document {
            root: node,
            line: doc_line,
            duplicate_keys: duplicates,
        });
    }
    Ok(count)
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| 1 + count_nodes(v)).sum(),
        _ => 0,
    }
}
