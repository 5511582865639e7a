//! The Orthanc door: Orthanc's authorization web service.
//!
//! Orthanc's authorization plugin asks an external web service, on every
//! HTTP request Orthanc receives, whether to let it through (the protocol
//! is in `../shared/reference/seed-systems.md` and the plugin's
//! `AuthorizationWebService.cpp`). This door is that service, under
//! `[orthanc] prefix` of the main listener (default `/orthanc`, so Orthanc
//! is configured with `"WebServiceRootUrl": "http://<server>/orthanc/"`):
//!
//! | call | answers |
//! |---|---|
//! | `POST tokens/validate` | may this token do METHOD on this resource ([`validate`]) |
//! | `POST user/get-profile` | the token's permissions, or a user's name ([`profile`]) |
//! | `PUT tokens/{type}` | a new share token ([`share_tokens`]) |
//! | `POST tokens/decode` | what a share token opens ([`share_tokens`]) |
//! | `GET\|PUT settings/roles` | the role → permissions map ([`settings`]) |
//!
//! The caller is Orthanc itself, with basic auth as a service user
//! ([`service_caller`]). Each handler only translates: the plugin's JSON in
//! ([`wire`]), the bearer of the forwarded token and the one imaging
//! decision ([`crate::imaging`]), the plugin's JSON out. Whatever the
//! plugin sends that the door cannot read is a 400 with a JSON body; a
//! token that does not hold is simply not granted; a store failure is a
//! 503, which the plugin turns into a refusal. Every answer is an event
//! (`orthanc.*`), a refusal a failed one.
//!
//! ## Share tokens and resource levels
//!
//! The plugin checks a resource URL one level at a time (patient, study,
//! series, instance) and needs every checked level granted. A share token
//! is granted only at the level it was created for, with matching ids: the
//! door cannot tell from one call that a series belongs to a study, nor
//! which patient a study belongs to, without asking Orthanc. So study
//! shares need the plugin setting `"CheckedLevel": "studies"`, with which
//! the plugin asks only the study level (with the study's ids) for every
//! study, series and instance URL, and refuses patient-level and system
//! URLs outright (nothing checked there). With the default (every level
//! checked) a study share opens nothing, which fails closed.

mod facts;
pub mod profile;
pub mod service_caller;
pub mod settings;
pub mod share_tokens;
pub mod validate;
pub mod wire;

use crate::routes::ApiRoutes;

/// The service's routes, relative to the prefix, each with its event.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .post("/tokens/validate", validate::validate, validate::EVENT)
        .post("/user/get-profile", profile::get_profile, profile::EVENT)
        .post(
            "/tokens/decode",
            share_tokens::decode,
            "orthanc.token.decode",
        )
        .put(
            "/tokens/{type}",
            share_tokens::create,
            "orthanc.token.create",
        )
        .get(
            "/settings/roles",
            settings::get_roles,
            "orthanc.settings.roles.get",
        )
        .put(
            "/settings/roles",
            settings::put_roles,
            "orthanc.settings.roles",
        )
}
