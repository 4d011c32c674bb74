//! The registry: the stage kinds and domain commands a binary offers, handed to the engine at start.

use crate::command::DomainCommand;
use crate::kind::Kind;

/// The stage kinds (in the order `pipe kinds` lists them) and the domain commands of one binary.
#[derive(Default)]
pub struct Registry {
    kinds: Vec<&'static dyn Kind>,
    commands: Vec<&'static dyn DomainCommand>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds stage kinds.
    ///
    /// # Panics
    /// When a kind's name is already registered: two kinds of one name are a bug of the binary.
    pub fn with_kinds(mut self, kinds: &[&'static dyn Kind]) -> Self {
        for kind in kinds {
            assert!(
                self.find(kind.name()).is_none(),
                "stage kind '{}' registered twice",
                kind.name()
            );
            self.kinds.push(*kind);
        }
        self
    }

    /// Adds domain commands.
    ///
    /// # Panics
    /// When a command's name is already registered.
    pub fn with_commands(mut self, commands: &[&'static dyn DomainCommand]) -> Self {
        for command in commands {
            let name = command.name();
            assert!(
                self.command(&name).is_none(),
                "command '{name}' registered twice"
            );
            self.commands.push(*command);
        }
        self
    }

    /// Every stage kind, in registration order.
    pub fn kinds(&self) -> &[&'static dyn Kind] {
        &self.kinds
    }

    /// The stage kind called `name`.
    pub fn find(&self, name: &str) -> Option<&'static dyn Kind> {
        self.kinds.iter().copied().find(|k| k.name() == name)
    }

    /// Every domain command, in registration order.
    pub fn commands(&self) -> &[&'static dyn DomainCommand] {
        &self.commands
    }

    /// The domain command called `name`.
    pub fn command(&self, name: &str) -> Option<&'static dyn DomainCommand> {
        self.commands.iter().copied().find(|c| c.name() == name)
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "kinds",
                &self.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
            )
            .field(
                "commands",
                &self.commands.iter().map(|c| c.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}
