//! Input references: `stage.output`, `stage[*].output`, `stage[axis=value,...].output`.

/// A parsed reference to the outputs of an upstream stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Upstream stage name.
    pub stage: String,
    /// Which instances: `None` for a bare `stage.output`.
    pub selector: Option<Selector>,
    /// Output name.
    pub output: String,
}

/// Instance selection of a matrix stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `[*]`: every instance, in matrix order.
    All,
    /// `[a=x,b=y]`: instances whose axes have these values.
    Where(Vec<(String, String)>),
}

impl Reference {
    /// Parses `text`; the error says what form is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "'{text}' is not a reference ({why}); write stage.output, stage[*].output or stage[axis=value].output, or {{file: path}} for a file"
            )
        };
        let name_end = text.find(['[', '.']).ok_or_else(|| bad("no '.output'"))?;
        let stage = &text[..name_end];
        if stage.is_empty() {
            return Err(bad("no stage name"));
        }
        let (selector, rest) = if text[name_end..].starts_with('[') {
            let close = text[name_end..]
                .find(']')
                .map(|i| name_end + i)
                .ok_or_else(|| bad("'[' without ']'"))?;
            let inner = text[name_end + 1..close].trim();
            let selector = if inner == "*" {
                Selector::All
            } else {
                let pairs = inner
                    .split(',')
                    .map(|pair| {
                        let (k, v) = pair
                            .split_once('=')
                            .ok_or_else(|| bad("selector items are axis=value"))?;
                        Ok((k.trim().to_string(), v.trim().to_string()))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                Selector::Where(pairs)
            };
            (Some(selector), &text[close + 1..])
        } else {
            (None, &text[name_end..])
        };
        let output = rest
            .strip_prefix('.')
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no '.output' after the stage"))?;
        if output.contains(['.', '[', ']']) {
            return Err(bad("output names have no '.' or brackets"));
        }
        Ok(Self {
            stage: stage.to_string(),
            selector,
            output: output.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            Reference::parse("data.bam").unwrap(),
            Reference {
                stage: "data".into(),
                selector: None,
                output: "bam".into()
            }
        );
        assert_eq!(
            Reference::parse("train[*].metrics").unwrap().selector,
            Some(Selector::All)
        );
        assert_eq!(
            Reference::parse("train[arch=x, lr=0.1].metrics")
                .unwrap()
                .selector,
            Some(Selector::Where(vec![
                ("arch".into(), "x".into()),
                ("lr".into(), "0.1".into())
            ]))
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["data", ".x", "a[*.x", "a[*]", "a[x].y", "a.b.c"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
