//! Assembling a running vigil, in two steps:
//!
//! - [`load`] reads and checks everything (config, rule files, data source,
//!   routing and templates, remote write, storage) and opens what must
//!   exist (the data directory's store and its log, the SQL state store),
//!   so a bad file stops `vigil run` before it binds;
//! - [`Loaded::serve`] starts the stages in the order of the data flow
//!   and serves the API on a listener the caller bound, until `shutdown`
//!   resolves.
//!
//! ```text
//! store + log  <- scrape  <- rules -> alerting (ALERTS, remote write)
//!                              \-> notify (route, outbox, send)
//! sla (reads the store, writes its ledger)      API (reads everything)
//! ```
//!
//! A reload is [`load`] again of what reloads (config, rule files, remote
//! write, routing) and a typed swap of it into the running stages
//! ([`Handle::reload`]).

mod errors;
mod load;
mod reload;
mod serve;

pub use errors::{LoadError, ReloadError, ServeError};
pub use load::{Loaded, Options, load};
pub use reload::Handle;
