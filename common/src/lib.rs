//! What both Vigil programs share: secrets, and (as they are written) the
//! web-config format, serving, logging and YAML loading with located errors.

pub mod secret;

pub use secret::Secret;
