//! Imaging: the one authorization decision this server makes for Orthanc's
//! authorization plugin, pure (no IO, no clock, no allocation on the
//! decision path).
//!
//! ## The decision
//!
//! The plugin asks `tokens/validate` whether a token may make one
//! [`Access`]: a [`Method`] on one [`Level`] of a URI, with the resource's
//! ids, or the URI itself at [`Level::System`]. There are two kinds of
//! token, and one rule for each:
//!
//! - **A user's token** ([`decide_for_user`]): the user's imaging
//!   [`Permissions`] come from their roles through the [`RoleMap`]
//!   ([`RoleMap::profile`]); the access is granted when they hold `all`, or
//!   any one of the permissions [`required`] for it. At a resource level
//!   that is `view` for `GET`, `delete` for `DELETE`, `modify` otherwise; at
//!   the system level a first-match table over the URI mirroring the
//!   plugin's default `Permissions` list says, and a URI it does not list
//!   needs `all`.
//! - **A share token** ([`decide_for_share`]): it is bound to a few
//!   [`SharedResource`]s and grants a `GET` of exactly those, at their own
//!   level, matched by Orthanc id or DICOM UID. Nothing else.
//!
//! ## Why a share is decided only at its bound level
//!
//! One URI reaches the service as one check per level: a series URL is
//! checked at its patient, its study and the series, and the plugin grants
//! it only when every checked level is granted. A share of a study cannot
//! answer "yes" for the patient level (the patient may have other studies),
//! nor for the study's series and instances by id (the token does not know
//! them, and guessing from a URL would grant what was never shared). So the
//! server documents Orthanc's `"CheckedLevel": "studies"` for study shares:
//! with it the plugin asks only the study level, with the study's ids, for
//! every series and instance URL of the study, and that one question is the
//! one this module can answer exactly. Patient-level and system URLs then
//! have no checked level at all, and the plugin refuses them, which is what
//! a share should give: one study, nothing around it.
//!
//! The same reasoning holds for shares at other levels with the matching
//! `CheckedLevel`; without one, a share answers only the checks at its own
//! level, so URLs the plugin also checks at other levels stay refused
//! (fail closed).
//!
//! ## Layout
//!
//! - `permission`: [`Permission`], [`Permissions`].
//! - `role_map`: [`RoleGrant`], [`RoleMap`], in Orthanc's `settings/roles`
//!   shape.
//! - `access`: [`Access`], [`Level`], [`Method`].
//! - `required`: [`required`], the URI table, and [`decide_for_user`].
//! - `share`: [`SharedResource`], [`decide_for_share`].

mod access;
mod permission;
mod required;
mod role_map;
mod share;

pub use access::{Access, Level, Method};
pub use permission::{Permission, Permissions};
pub use required::{decide_for_user, required};
pub use role_map::{ALL_LABELS, RoleGrant, RoleMap};
pub use share::{SharedResource, decide_for_share};
