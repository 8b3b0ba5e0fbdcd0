//! The Prometheus HTTP API's answer, folded series by series as it is parsed:
//! `{"status":"success","data":{"resultType":"vector"|"matrix","result":[...]}}`, where each
//! series is `{"metric":{...},"value":[ts,"v"]}` or `{"metric":{...},"values":[[ts,"v"],...]}`.
//! The answer's `data` alone, or its `result` array alone (as `jq` extracts them), read too.
//! A series is never kept past its own end; neither are a matrix's samples.

use super::Series;
use crate::load::traffic::document::Document;
use crate::model::TrafficFormat;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// What a range vector's samples come to, folded as they are read.
#[derive(Debug, Default, Clone, Copy)]
struct Samples {
    count: u64,
    last: f64,
    /// Sum of rises between samples; after a drop (a counter reset) the new value.
    increase: f64,
    max: f64,
}

impl Samples {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.count == 0 {
            self.max = v;
        } else {
            self.increase += if v >= self.last { v - self.last } else { v };
            self.max = self.max.max(v);
        }
        self.last = v;
        self.count += 1;
    }
}

/// `data`: `resultType` and `result`, in either order.
pub(crate) struct Data<'d, 'x>(pub &'d mut Document<'x>);

impl<'de> DeserializeSeed<'de> for Data<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Data<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the answer's data")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            data_entry(self.0, &key, &mut map)?;
        }
        Ok(())
    }
}

/// One key of `data` (or of a top-level object holding `resultType` and `result`).
pub(crate) fn data_entry<'de, A: MapAccess<'de>>(
    doc: &mut Document<'_>,
    key: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    match key {
        "resultType" => doc.result_type = Some(map.next_value::<String>()?),
        "result" => map.next_value_seed(Result_(doc))?,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(())
}

/// `result`: the series, one after the other. A scalar or string answer (`[ts, "v"]`) is
/// noted, not read.
pub(crate) struct Result_<'d, 'x>(pub &'d mut Document<'x>);

impl<'de> DeserializeSeed<'de> for Result_<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Result_<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of series")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.saw(TrafficFormat::PrometheusJson);
        while seq.next_element_seed(OneSeries(&mut *self.0))?.is_some() {
            if self.0.stopped() {
                return Err(serde::de::Error::custom(super::super::document::STOP));
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// One series: `metric`, and `value` or `values`, in any order.
struct OneSeries<'d, 'x>(&'d mut Document<'x>);

impl<'de> DeserializeSeed<'de> for OneSeries<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OneSeries<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let doc = self.0;
        let line = doc.element_start();
        let mut labels = std::mem::take(&mut doc.labels);
        labels.clear();
        let mut samples = Samples::default();
        let mut ranged = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "metric" => map.next_value_seed(Labels(&mut labels))?,
                "value" => map.next_value_seed(Sample(&mut samples))?,
                "values" => {
                    ranged = true;
                    map.next_value_seed(SampleList(&mut samples))?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        doc.lines_read(1);
        let name = labels
            .iter()
            .find(|(k, _)| k == "__name__")
            .map(|(_, v)| v.to_string());
        let amount = match (ranged, name.is_some()) {
            (true, true) => samples.increase,
            _ => samples.max,
        };
        if samples.count > 0 || !labels.is_empty() {
            let series = Series {
                name: name.as_deref(),
                labels: &labels,
                amount,
            };
            doc.series(&series, line);
        }
        doc.labels = labels;
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // A scalar or string answer's `[ts, "v"]`: its parts are not series.
        self.0.not_series = true;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.not_series = true;
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.not_series = true;
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.0.not_series = true;
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.0.not_series = true;
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// `metric`: the labels.
struct Labels<'l>(&'l mut Vec<(Cow<'static, str>, Cow<'static, str>)>);

impl<'de> DeserializeSeed<'de> for Labels<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Labels<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("labels")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((k, v)) = map.next_entry::<String, String>()? {
            self.0.push((Cow::Owned(k), Cow::Owned(v)));
        }
        Ok(())
    }
}

/// `[ts, "v"]` added to the fold.
struct Sample<'s>(&'s mut Samples);

impl<'de> DeserializeSeed<'de> for Sample<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Sample<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[timestamp, \"value\"]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let _time = seq.next_element::<IgnoredAny>()?;
        if let Some(value) = seq.next_element::<Number>()? {
            self.0.add(value.0);
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// `[[ts, "v"], ...]`.
struct SampleList<'s>(&'s mut Samples);

impl<'de> DeserializeSeed<'de> for SampleList<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SampleList<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of samples")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Sample(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// A sample value: a string as Prometheus writes it (`"12"`, `"NaN"`, `"+Inf"`) or a number.
struct Number(f64);

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Number, E> {
                let n = match v {
                    "+Inf" | "Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    _ => v.parse().unwrap_or(f64::NAN),
                };
                Ok(Number(n))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_unit<E>(self) -> Result<Number, E> {
                Ok(Number(f64::NAN))
            }
        }
        d.deserialize_any(V)
    }
}
