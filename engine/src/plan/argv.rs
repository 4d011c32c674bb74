//! A command's arguments after substitution, held as one string: at 100,000 tasks a `Vec<String>` per
//! task costs 40 MB (a heap block per argument), this about a tenth.

use std::sync::Arc;

/// The arguments of a command, each ended by a NUL byte in one shared string (NUL cannot occur in
/// an argument: `execve` takes NUL-terminated strings).
#[derive(Clone, PartialEq, Eq)]
pub struct Argv(Arc<str>);

impl Argv {
    /// The arguments `args`, or the first that holds a NUL byte.
    pub fn new<S: AsRef<str>>(args: &[S]) -> Result<Self, String> {
        let mut joined = String::with_capacity(args.iter().map(|a| a.as_ref().len() + 1).sum());
        for a in args {
            let a = a.as_ref();
            if a.contains('\0') {
                return Err(a.to_string());
            }
            joined.push_str(a);
            joined.push('\0');
        }
        Ok(Self(joined.into()))
    }

    /// The arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split_terminator('\0')
    }

    /// The arguments as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::fmt::Debug for Argv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_come_back_as_given() {
        for args in [vec![], vec![""], vec!["sh", "-c", "", "x y"], vec!["", ""]] {
            let argv = Argv::new(&args).unwrap();
            assert_eq!(argv.to_vec(), args, "{argv:?}");
        }
    }

    #[test]
    fn an_argument_with_a_nul_byte_is_refused() {
        assert_eq!(Argv::new(&["ok", "a\0b"]), Err("a\0b".to_string()));
    }
}
