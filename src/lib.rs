//! tidings: Jekyll-style posts in, RSS 2.0, Atom 1.0 and JSON Feed 1.1 out.
//!
//! The modules follow the data flow (see `ARCHITECTURE.md`):
//! [`files`] finds candidate files → [`posts`] turns bytes into entries → [`feeds`] groups
//! them by scope and page → [`load`] keeps all three in step (the catalog of every file) →
//! [`documents`] renders bytes → [`export`] writes them to a folder, or [`store`] publishes
//! them and [`http`] serves them, with [`watch`] driving rebuilds (and telling WebSub hubs
//! through [`websub`] and caches through [`purge`] what changed). [`config`] is the one
//! settings value every stage reads, and [`cli`] is the command line that drives it all.

#![warn(missing_docs, unreachable_pub)]

pub mod cli;
pub mod config;
pub mod documents;
pub mod export;
pub mod feeds;
pub mod files;
pub mod http;
pub mod load;
pub mod metrics;
pub mod posts;
pub mod purge;
pub mod service;
pub mod stats;
pub mod store;
pub mod watch;
pub mod websub;
