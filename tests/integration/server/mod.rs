//! auth-server over real HTTP on a loopback port: Keystone's token API.

mod admin;
mod cache;
mod connections;
mod domains;
mod events;
mod groups;
mod harness;
mod operations;
mod tokens;
