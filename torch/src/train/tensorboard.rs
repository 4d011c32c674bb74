//! TensorBoard event files: scalar summaries in TFRecord framing, as `SummaryWriter.add_scalar` writes them.
//!
//! An event file is a sequence of records `u64 length (LE) | u32 masked crc32c(length) | data | u32 masked
//! crc32c(data)`; each record is an `Event` protobuf. The first event carries `file_version =
//! "brain.Event:2"`, every later one a `Summary` with one `simple_value` per tag.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use prost::Message;

/// `tensorflow.Event` (the fields `pipe` writes).
#[derive(Clone, PartialEq, Message)]
pub struct Event {
    /// Seconds since the epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Global step (the study uses epoch + 1).
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// Format marker of the first event.
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// Scalars of this step.
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// One entry per tag.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value` with a scalar.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryValue {
    /// Tag, e.g. `val_metrics/f1`.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// The scalar.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
}

/// The masked CRC-32C TFRecord uses.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Frames one record.
pub fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// The name TensorBoard recognises as an event file (it looks for `tfevents`).
pub const EVENT_FILE: &str = "events.out.tfevents.pipe";

/// Writes scalar events to `dir/events.out.tfevents.pipe`.
pub struct EventWriter {
    out: BufWriter<File>,
    path: std::path::PathBuf,
}

impl EventWriter {
    /// Creates the directory and the event file, and writes the version event.
    pub fn create(dir: &Path, wall_time: f64) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(EVENT_FILE);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = Self {
            out: BufWriter::new(file),
            path,
        };
        w.write(&Event {
            wall_time,
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })?;
        Ok(w)
    }

    fn write(&mut self, event: &Event) -> Result<()> {
        self.out
            .write_all(&frame(&event.encode_to_vec()))
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Writes one scalar (as `add_scalar(tag, value, step)`).
    pub fn scalar(&mut self, tag: &str, value: f64, step: i64, wall_time: f64) -> Result<()> {
        self.write(&Event {
            wall_time,
            step,
            file_version: None,
            summary: Some(Summary {
                value: vec![SummaryValue {
                    tag: tag.to_string(),
                    simple_value: Some(value as f32),
                }],
            }),
        })
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the records back, checking both CRCs of each.
    fn read_records(bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let len_bytes = &rest[..8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(rest[8..12].try_into().unwrap());
            assert_eq!(len_crc, masked_crc32c(len_bytes), "length CRC");
            let data = &rest[12..12 + len];
            let data_crc = u32::from_le_bytes(rest[12 + len..16 + len].try_into().unwrap());
            assert_eq!(data_crc, masked_crc32c(data), "data CRC");
            out.push(Event::decode(data).unwrap());
            rest = &rest[16 + len..];
        }
        out
    }

    #[test]
    fn masked_crc_matches_tensorflow() {
        // TensorFlow's crc32c test vector, then its Mask: rotate right by 15, add 0xa282ead8.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(
            masked_crc32c(b"123456789"),
            0x2507_c60du32.wrapping_add(0xa282_ead8)
        );
    }

    #[test]
    fn scalars_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path(), 1.5).unwrap();
        w.scalar("train_metrics/f1", 0.25, 1, 2.0).unwrap();
        w.scalar("val_metrics/auc_ovr", 0.75, 2, 3.0).unwrap();
        w.finish().unwrap();
        let events = read_records(&std::fs::read(dir.path().join(EVENT_FILE)).unwrap());
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
        let v = &events[2].summary.as_ref().unwrap().value[0];
        assert_eq!(
            (v.tag.as_str(), v.simple_value),
            ("val_metrics/auc_ovr", Some(0.75))
        );
        assert_eq!(events[2].step, 2);
        assert_eq!(events[1].wall_time, 2.0);
    }
}
