//! Calls as the readers see them (borrowed from the line being read) -> one entry per
//! distinct (source, destination, port, protocol, reporter, format), counts summed.
//!
//! A line allocates nothing unless it shows a call not seen before: the key is hashed from
//! the borrowed parts and compared against the stored one. Each entry keeps the smallest
//! origin (file, then line) and the detail written there, so the result does not depend on
//! the order in which files were read. The number of entries is capped.

use crate::model::{
    CallCounts, Observation, ObservedPeer, ObservedTarget, Origin, Protocol, Reporter,
    TrafficFormat,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// [`ObservedPeer`], borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerRef<'a> {
    Workload {
        namespace: &'a str,
        name: &'a str,
    },
    Pod {
        namespace: Option<&'a str>,
        name: &'a str,
    },
    Principal(&'a str),
    MeshUnidentified,
    Unknown,
}

/// [`ObservedTarget`], borrowed (a host may have been scrubbed, hence owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetRef<'a> {
    Service {
        namespace: Option<&'a str>,
        name: &'a str,
    },
    Workload {
        namespace: &'a str,
        name: &'a str,
    },
    Pod {
        namespace: Option<&'a str>,
        name: &'a str,
    },
    Host(Cow<'a, str>),
}

/// One call as a line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallRef<'a> {
    pub source: PeerRef<'a>,
    pub destination: TargetRef<'a>,
    pub port: Option<u16>,
    pub protocol: Option<Protocol>,
    pub reporter: Reporter,
    pub format: TrafficFormat,
}

/// Where and how a call was seen, made only when the call is new.
pub(crate) struct Seen<'s> {
    pub origin: &'s dyn Fn() -> Origin,
    pub detail: &'s dyn Fn() -> String,
}

/// The aggregate is full: the caller reports it once and stops adding.
#[derive(Debug)]
pub(crate) struct Full;

struct Entry {
    observation: Observation,
    /// The next entry with the same hash.
    next: Option<u32>,
}

/// Distinct calls with summed counts.
pub(crate) struct Aggregate {
    entries: Vec<Entry>,
    index: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    limit: usize,
}

impl Aggregate {
    pub fn new(limit: usize) -> Self {
        Aggregate {
            entries: Vec::new(),
            index: HashMap::default(),
            limit,
        }
    }

    /// Adds one sighting of `call`.
    pub fn add(
        &mut self,
        call: &CallRef<'_>,
        counts: &CallCounts,
        seen: Seen<'_>,
    ) -> Result<(), Full> {
        let hash = hash_ref(call);
        if let Some(i) = self.find(hash, |o| ref_matches(call, o)) {
            self.entries[i].observation.counts.add(counts);
            return Ok(());
        }
        self.insert(
            hash,
            Observation {
                source: peer_owned(&call.source),
                destination: target_owned(&call.destination),
                port: call.port,
                protocol: call.protocol,
                reporter: call.reporter,
                counts: *counts,
                origin: (seen.origin)(),
                format: call.format,
                detail: (seen.detail)(),
            },
        )
    }

    /// Adds every entry of `other`, keeping the smaller origin of two equal calls.
    pub fn merge(&mut self, other: Aggregate) -> Result<(), Full> {
        for entry in other.entries {
            let o = entry.observation;
            let hash = hash_owned(&o);
            if let Some(i) = self.find(hash, |mine| same_call(mine, &o)) {
                let mine = &mut self.entries[i].observation;
                mine.counts.add(&o.counts);
                if origin_key(&o.origin) < origin_key(&mine.origin) {
                    mine.origin = o.origin;
                    mine.detail = o.detail;
                }
                continue;
            }
            self.insert(hash, o)?;
        }
        Ok(())
    }

    /// The calls, sorted by (source, destination, port, protocol, reporter, format).
    pub fn into_observations(self) -> Vec<Observation> {
        let mut all: Vec<Observation> = self.entries.into_iter().map(|e| e.observation).collect();
        all.sort_by(|a, b| {
            (
                &a.source,
                &a.destination,
                a.port,
                a.protocol,
                a.reporter,
                a.format,
            )
                .cmp(&(
                    &b.source,
                    &b.destination,
                    b.port,
                    b.protocol,
                    b.reporter,
                    b.format,
                ))
        });
        all
    }

    fn find(&self, hash: u64, matches: impl Fn(&Observation) -> bool) -> Option<usize> {
        let mut at = self.index.get(&hash).copied();
        while let Some(i) = at {
            let entry = &self.entries[i as usize];
            if matches(&entry.observation) {
                return Some(i as usize);
            }
            at = entry.next;
        }
        None
    }

    fn insert(&mut self, hash: u64, observation: Observation) -> Result<(), Full> {
        if self.entries.len() >= self.limit {
            return Err(Full);
        }
        let i = self.entries.len() as u32;
        let next = self.index.insert(hash, i);
        self.entries.push(Entry { observation, next });
        Ok(())
    }
}

fn origin_key(o: &Origin) -> (&str, u32) {
    (&o.file, o.line)
}

fn same_call(a: &Observation, b: &Observation) -> bool {
    a.source == b.source
        && a.destination == b.destination
        && a.port == b.port
        && a.protocol == b.protocol
        && a.reporter == b.reporter
        && a.format == b.format
}

fn ref_matches(r: &CallRef<'_>, o: &Observation) -> bool {
    let source = match (&r.source, &o.source) {
        (
            PeerRef::Workload { namespace, name },
            ObservedPeer::Workload {
                namespace: n,
                name: m,
            },
        ) => namespace == n && name == m,
        (
            PeerRef::Pod { namespace, name },
            ObservedPeer::Pod {
                namespace: n,
                name: m,
            },
        ) => *namespace == n.as_deref() && name == m,
        (PeerRef::Principal(p), ObservedPeer::Principal(q)) => p == q,
        (PeerRef::MeshUnidentified, ObservedPeer::MeshUnidentified) => true,
        (PeerRef::Unknown, ObservedPeer::Unknown) => true,
        _ => false,
    };
    source
        && target_matches(&r.destination, &o.destination)
        && r.port == o.port
        && r.protocol == o.protocol
        && r.reporter == o.reporter
        && r.format == o.format
}

fn target_matches(r: &TargetRef<'_>, o: &ObservedTarget) -> bool {
    match (r, o) {
        (
            TargetRef::Service { namespace, name },
            ObservedTarget::Service {
                namespace: n,
                name: m,
            },
        )
        | (
            TargetRef::Pod { namespace, name },
            ObservedTarget::Pod {
                namespace: n,
                name: m,
            },
        ) => *namespace == n.as_deref() && name == m,
        (
            TargetRef::Workload { namespace, name },
            ObservedTarget::Workload {
                namespace: n,
                name: m,
            },
        ) => namespace == n && name == m,
        (TargetRef::Host(h), ObservedTarget::Host(g)) => h == g,
        _ => false,
    }
}

fn peer_owned(p: &PeerRef<'_>) -> ObservedPeer {
    match p {
        PeerRef::Workload { namespace, name } => ObservedPeer::Workload {
            namespace: namespace.to_string(),
            name: name.to_string(),
        },
        PeerRef::Pod { namespace, name } => ObservedPeer::Pod {
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        },
        PeerRef::Principal(p) => ObservedPeer::Principal(p.to_string()),
        PeerRef::MeshUnidentified => ObservedPeer::MeshUnidentified,
        PeerRef::Unknown => ObservedPeer::Unknown,
    }
}

fn target_owned(t: &TargetRef<'_>) -> ObservedTarget {
    match t {
        TargetRef::Service { namespace, name } => ObservedTarget::Service {
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        },
        TargetRef::Workload { namespace, name } => ObservedTarget::Workload {
            namespace: namespace.to_string(),
            name: name.to_string(),
        },
        TargetRef::Pod { namespace, name } => ObservedTarget::Pod {
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        },
        TargetRef::Host(h) => ObservedTarget::Host(h.to_string()),
    }
}

/// The borrowed and the owned form of a call hash alike: both feed the same sequence.
fn hash_ref(c: &CallRef<'_>) -> u64 {
    let mut h = KeyHasher::default();
    match &c.source {
        PeerRef::Workload { namespace, name } => parts(&mut h, 1, Some(namespace), name),
        PeerRef::Pod { namespace, name } => parts(&mut h, 2, *namespace, name),
        PeerRef::Principal(p) => parts(&mut h, 3, None, p),
        PeerRef::MeshUnidentified => parts(&mut h, 4, None, ""),
        PeerRef::Unknown => parts(&mut h, 5, None, ""),
    }
    match &c.destination {
        TargetRef::Service { namespace, name } => parts(&mut h, 6, *namespace, name),
        TargetRef::Workload { namespace, name } => parts(&mut h, 7, Some(namespace), name),
        TargetRef::Pod { namespace, name } => parts(&mut h, 8, *namespace, name),
        TargetRef::Host(host) => parts(&mut h, 9, None, host),
    }
    tail(&mut h, c.port, c.protocol, c.reporter, c.format);
    h.finish()
}

fn hash_owned(o: &Observation) -> u64 {
    let mut h = KeyHasher::default();
    match &o.source {
        ObservedPeer::Workload { namespace, name } => parts(&mut h, 1, Some(namespace), name),
        ObservedPeer::Pod { namespace, name } => parts(&mut h, 2, namespace.as_deref(), name),
        ObservedPeer::Principal(p) => parts(&mut h, 3, None, p),
        ObservedPeer::MeshUnidentified => parts(&mut h, 4, None, ""),
        ObservedPeer::Unknown => parts(&mut h, 5, None, ""),
    }
    match &o.destination {
        ObservedTarget::Service { namespace, name } => parts(&mut h, 6, namespace.as_deref(), name),
        ObservedTarget::Workload { namespace, name } => parts(&mut h, 7, Some(namespace), name),
        ObservedTarget::Pod { namespace, name } => parts(&mut h, 8, namespace.as_deref(), name),
        ObservedTarget::Host(host) => parts(&mut h, 9, None, host),
    }
    tail(&mut h, o.port, o.protocol, o.reporter, o.format);
    h.finish()
}

fn parts(h: &mut KeyHasher, tag: u8, namespace: Option<&str>, name: &str) {
    h.write_u8(tag);
    match namespace {
        Some(ns) => {
            h.write_u8(1);
            h.write(ns.as_bytes());
            h.write_u8(0xff);
        }
        None => h.write_u8(0),
    }
    h.write(name.as_bytes());
    h.write_u8(0xff);
}

fn tail(
    h: &mut KeyHasher,
    port: Option<u16>,
    protocol: Option<Protocol>,
    reporter: Reporter,
    format: TrafficFormat,
) {
    h.write_u32(port.map_or(u32::MAX, u32::from));
    h.write_u8(protocol.map_or(0xff, |p| p as u8));
    h.write_u8(reporter as u8);
    h.write_u8(format as u8);
}

/// A small, fast, deterministic hasher (FNV-1a over 8-byte words); the map compares keys on
/// a hash match, so collisions cost time, never correctness.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h ^ word).wrapping_mul(PRIME).rotate_left(23);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        self.0 = h;
    }

    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
}
