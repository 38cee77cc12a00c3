//! `meta.json`: a block's identity, time range, counts and compaction
//! history, in the JSON Prometheus writes (`tsdb/block.go`, `BlockMeta`;
//! tab-indented, zero counts left out, `version` 1). `maxTime` is exclusive.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::error::{BlockError, IoContext};

pub const META_FILE: &str = "meta.json";
const META_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    #[serde(with = "ulid_str")]
    pub ulid: Ulid,
    #[serde(rename = "minTime")]
    pub min_time: i64,
    /// Exclusive: every sample is `< max_time`.
    #[serde(rename = "maxTime")]
    pub max_time: i64,
    #[serde(default)]
    pub stats: BlockStats,
    pub compaction: Compaction,
    pub version: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// 1 for a block cut from the head; merges take the highest source
    /// level plus one.
    pub level: u32,
    /// The level-1 blocks whose data this block holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "ulid_vec")]
    pub sources: Vec<Ulid>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletable: bool,
    /// The blocks merged directly into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDesc {
    #[serde(with = "ulid_str")]
    pub ulid: Ulid,
    #[serde(rename = "minTime")]
    pub min_time: i64,
    #[serde(rename = "maxTime")]
    pub max_time: i64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl BlockMeta {
    /// A level-1 block that is its own source, as the head writes them.
    pub fn new(ulid: Ulid, min_time: i64, max_time: i64) -> Self {
        BlockMeta {
            ulid,
            min_time,
            max_time,
            stats: BlockStats::default(),
            compaction: Compaction {
                level: 1,
                sources: vec![ulid],
                ..Compaction::default()
            },
            version: META_VERSION,
        }
    }

    pub fn desc(&self) -> BlockDesc {
        BlockDesc {
            ulid: self.ulid,
            min_time: self.min_time,
            max_time: self.max_time,
        }
    }

    /// Reads `<dir>/meta.json`.
    pub fn read(dir: &Path) -> Result<Self, BlockError> {
        let path = dir.join(META_FILE);
        let bytes = fs::read(&path).at(&path)?;
        let meta: BlockMeta = serde_json::from_slice(&bytes).map_err(|e| BlockError::Meta {
            path: path.clone(),
            what: e.to_string(),
        })?;
        if meta.version != META_VERSION {
            return Err(BlockError::Meta {
                path,
                what: format!("unexpected version {}", meta.version),
            });
        }
        Ok(meta)
    }

    /// Writes `<dir>/meta.json` through a temporary file, synced, then
    /// renamed over the old one.
    pub fn write(&self, dir: &Path) -> Result<(), BlockError> {
        let path = dir.join(META_FILE);
        let tmp = dir.join(format!("{META_FILE}.tmp"));
        let mut body = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut body, fmt);
        self.serialize(&mut ser).map_err(|e| BlockError::Meta {
            path: path.clone(),
            what: e.to_string(),
        })?;
        let mut f = fs::File::create(&tmp).at(&tmp)?;
        f.write_all(&body).at(&tmp)?;
        f.sync_all().at(&tmp)?;
        drop(f);
        fs::rename(&tmp, &path).at(&path)
    }
}

mod ulid_str {
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub fn serialize<S: Serializer>(u: &Ulid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&u.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ulid, D::Error> {
        let s = String::deserialize(d)?;
        Ulid::from_string(&s).map_err(|e| serde::de::Error::custom(format!("ULID {s:?}: {e}")))
    }
}

mod ulid_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub fn serialize<S: Serializer>(v: &[Ulid], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|u| u.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Ulid>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| {
                Ulid::from_string(s)
                    .map_err(|e| serde::de::Error::custom(format!("ULID {s:?}: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_prometheus_writes() {
        let json = r#"{
	"ulid": "01GQ0Z2JX8RMV8P3NVXHK6Y3Q7",
	"minTime": 1672531200000,
	"maxTime": 1672538400000,
	"stats": {
		"numSamples": 480,
		"numSeries": 2,
		"numChunks": 4
	},
	"compaction": {
		"level": 1,
		"sources": [
			"01GQ0Z2JX8RMV8P3NVXHK6Y3Q7"
		]
	},
	"version": 1
}"#;
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(META_FILE), json).unwrap();
        let m = BlockMeta::read(dir.path()).unwrap();
        assert_eq!(m.stats.num_samples, 480);
        assert_eq!(m.compaction.sources, [m.ulid]);
        // Writing gives the same text back (Go's MarshalIndent with tabs).
        m.write(dir.path()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join(META_FILE)).unwrap(),
            json
        );
    }

    #[test]
    fn missing_or_bad_meta_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = BlockMeta::read(dir.path()).unwrap_err();
        assert!(matches!(e, BlockError::Io { .. }));
        assert_eq!(e.path(), dir.path().join(META_FILE));
        fs::write(dir.path().join(META_FILE), r#"{"ulid": "nope"}"#).unwrap();
        let e = BlockMeta::read(dir.path()).unwrap_err();
        assert!(matches!(e, BlockError::Meta { .. }), "{e}");
        assert!(e.to_string().contains("meta.json"));
    }
}
