//! Rule files and their evaluation.
//!
//! ```text
//! file.rs      YAML -> RuleFile (plain data, unknown keys rejected)
//! locate.rs    line:column of groups and rules for error messages
//! validate.rs  promtool's checks -> RuleError list
//! ```

pub mod file;
pub mod locate;
pub mod validate;

pub use file::{GroupDef, RuleDef, RuleFile};
pub use validate::{RuleError, check_file, check_text};
