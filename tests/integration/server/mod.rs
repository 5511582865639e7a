//! auth-server over real HTTP on a loopback port: Keystone's token API.

mod admin;
mod application_credential_tokens;
mod application_credentials;
mod cache;
mod connections;
mod dicom;
mod domain_configs;
mod domains;
mod ec2_credentials;
mod events;
mod gateway;
mod groups;
pub(crate) mod harness;
mod identity_api;
mod implied;
mod keys;
mod lockout;
mod operations;
mod orthanc;
mod policies;
mod policy;
mod policy_file;
mod policy_matrix;
mod projects;
mod revocation;
mod routes;
mod tokens;
