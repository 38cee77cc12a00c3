//! Test support shared by every test crate (`vigil`'s tests and
//! `vigil-tests`): a recording HTTP receiver standing in for webhook and
//! receiver APIs, Debian's aiosmtpd as an SMTP server, child processes
//! stopped by their own pid, and one poller for "wait until this holds".
//! It depends on no vigil crate, so both test crates can use it.

pub mod eventually;
pub mod process;
pub mod recorder;
pub mod smtpd;

pub use eventually::{eventually, http_ready, poll_until, wait_until};
pub use process::{ChildGuard, free_port, wait_for_tcp};
pub use recorder::{ProxyCert, Recorded, Recorder};
pub use smtpd::Smtpd;
