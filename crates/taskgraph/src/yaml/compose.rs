//! Parser events to a node graph, the way PyYAML's composer builds one.
//!
//! Each node gets its tag here: explicit tags are kept in full, and
//! scalars open to implicit typing go through the resolvers. An alias is a
//! second reference to the anchored node, not a copy, so the constructor can
//! tell that two keys are the very same node (merge keys care).

use foldhash::{HashMap, HashMapExt};

use super::parse::{EventKind, NodeProperties, Parser, Pos, Scalar};
use super::resolve::{Tag, resolve_plain};
use super::{Mark, yaml_error};
use crate::error::Result;

pub(super) type NodeId = usize;

#[derive(Debug)]
pub(super) enum Content {
    Scalar(String),
    Seq(Vec<NodeId>),
    Map(Vec<(NodeId, NodeId)>),
}

impl Content {
    /// PyYAML's name for the node kind, used in error messages.
    pub(super) fn kind_name(&self) -> &'static str {
        match self {
            Content::Scalar(_) => "scalar",
            Content::Seq(_) => "sequence",
            Content::Map(_) => "mapping",
        }
    }
}

#[derive(Debug)]
pub(super) struct Node {
    pub tag: Tag,
    pub content: Content,
    /// Where the node starts, its anchor or tag included.
    pub mark: Mark,
}

/// The nodes of the first document, and which of them is the root.
#[derive(Debug)]
pub(super) struct Graph {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

/// Composes the only document of `text`; `None` for an empty stream.
pub(super) fn compose(text: &str) -> Result<Option<Graph>> {
    let mut composer = Composer {
        parser: Parser::new(text),
        nodes: Vec::new(),
        anchors: HashMap::new(),
        stack: Vec::new(),
    };

    composer.expect(|kind| *kind == EventKind::StreamStart)?;
    let event = composer.parser.next_event()?;
    if event.kind == EventKind::StreamEnd {
        return Ok(None);
    }
    let root = composer.compose_document()?;

    let event = composer.parser.next_event()?;
    if event.kind != EventKind::StreamEnd {
        let first = composer.nodes[root].mark;
        let message = format!(
            "expected a single document in the stream (the first starts at line {}, column {}), \
             but found another document",
            first.line, first.column
        );
        return Err(yaml_error(&message, Some(event.start.into())));
    }
    Ok(Some(Graph {
        nodes: composer.nodes,
        root,
    }))
}

/// A collection whose entries are still arriving.
enum Frame {
    Seq {
        id: NodeId,
        items: Vec<NodeId>,
    },
    Map {
        id: NodeId,
        pairs: Vec<(NodeId, NodeId)>,
        key: Option<NodeId>,
    },
}

struct Composer<'a> {
    parser: Parser<'a>,
    nodes: Vec<Node>,
    anchors: HashMap<String, NodeId>,
    stack: Vec<Frame>,
}

impl Composer<'_> {
    fn expect(&mut self, wanted: impl Fn(&EventKind) -> bool) -> Result<()> {
        let event = self.parser.next_event()?;
        if wanted(&event.kind) {
            Ok(())
        } else {
            let message = format!("unexpected parser event {:?}", event.kind);
            Err(yaml_error(&message, Some(event.start.into())))
        }
    }

    /// Composes the nodes of one document, from just after its start event
    /// to its end event, without recursion.
    fn compose_document(&mut self) -> Result<NodeId> {
        loop {
            let event = self.parser.next_event()?;
            let start = event.start;
            let finished = match event.kind {
                EventKind::Scalar(scalar) => Some(self.add_scalar(scalar, start)?),
                EventKind::SequenceStart(properties) => {
                    let tag = collection_tag(properties.tag.as_deref(), Tag::Seq);
                    let id = self.add_node(tag, Content::Seq(Vec::new()), start, properties)?;
                    self.stack.push(Frame::Seq {
                        id,
                        items: Vec::new(),
                    });
                    None
                }
                EventKind::MappingStart(properties) => {
                    let tag = collection_tag(properties.tag.as_deref(), Tag::Map);
                    let id = self.add_node(tag, Content::Map(Vec::new()), start, properties)?;
                    self.stack.push(Frame::Map {
                        id,
                        pairs: Vec::new(),
                        key: None,
                    });
                    None
                }
                EventKind::SequenceEnd | EventKind::MappingEnd => Some(self.close_collection()?),
                EventKind::Alias(name) => Some(self.alias(&name, start)?),
                other => {
                    let message = format!("unexpected parser event {other:?}");
                    return Err(yaml_error(&message, Some(start.into())));
                }
            };

            let Some(id) = finished else { continue };
            if let Some(root) = self.attach(id) {
                self.expect(|kind| *kind == EventKind::DocumentEnd)?;
                return Ok(root);
            }
        }
    }

    fn add_scalar(&mut self, scalar: Scalar, start: Pos) -> Result<NodeId> {
        let Scalar {
            properties,
            value,
            plain_implicit,
            ..
        } = scalar;
        let tag = match properties.tag.as_deref() {
            // The non-specific tag `!` types the scalar like no tag would.
            None | Some("!") if plain_implicit => resolve_plain(&value),
            None | Some("!") => Tag::Str,
            Some(full) => Tag::from_full(full),
        };
        self.add_node(tag, Content::Scalar(value), start, properties)
    }

    fn add_node(
        &mut self,
        tag: Tag,
        content: Content,
        start: Pos,
        properties: NodeProperties,
    ) -> Result<NodeId> {
        let id = self.nodes.len();
        let mark = Mark::from(start);
        if let Some(anchor) = properties.anchor {
            self.anchors.insert(anchor, id);
        }
        self.nodes.push(Node { tag, content, mark });
        Ok(id)
    }

    fn alias(&self, name: &str, start: Pos) -> Result<NodeId> {
        self.anchors.get(name).copied().ok_or_else(|| {
            yaml_error(
                &format!("found undefined alias {name:?}"),
                Some(start.into()),
            )
        })
    }

    fn close_collection(&mut self) -> Result<NodeId> {
        let (id, content) = match self.stack.pop() {
            Some(Frame::Seq { id, items }) => (id, Content::Seq(items)),
            Some(Frame::Map {
                id,
                pairs,
                key: None,
            }) => (id, Content::Map(pairs)),
            _ => return Err(yaml_error("unbalanced collection events", None)),
        };
        self.nodes[id].content = content;
        Ok(id)
    }

    /// Adds a finished node to the collection being built; returns it when
    /// it is the document's root.
    fn attach(&mut self, id: NodeId) -> Option<NodeId> {
        match self.stack.last_mut() {
            None => return Some(id),
            Some(Frame::Seq { items, .. }) => items.push(id),
            Some(Frame::Map { pairs, key, .. }) => match key.take() {
                None => *key = Some(id),
                Some(k) => pairs.push((k, id)),
            },
        }
        None
    }
}

fn collection_tag(tag: Option<&str>, default: Tag) -> Tag {
    match tag {
        None | Some("!") => default,
        Some(full) => Tag::from_full(full),
    }
}
