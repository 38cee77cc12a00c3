//! Support code for end-to-end tests: real servers started from the system
//! binaries on free loopback ports in temporary directories, and the demo app.

pub mod api;
pub mod bins;
pub mod catalog;
pub mod demo_app;
pub mod exporter;
pub mod haproxy;
pub mod postgres;
pub mod redis;
pub mod sentinel;
pub mod slack_shape;
pub mod vigil;
