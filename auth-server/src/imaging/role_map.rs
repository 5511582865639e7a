//! The role map: which Orthanc permissions and labels each role of this
//! server gives.
//!
//! Two sources, as Orthanc's own auth service has a configured map and a
//! settings page: the configuration file (`[orthanc.roles.<name>]`, or the
//! recommended map) and the database (`PUT settings/roles`, shared by
//! every node). Once the database holds a map, it is the one used.

use std::sync::Arc;

use auth_core::AuthError;
use auth_core::imaging::RoleMap;

use crate::services::imaging::ROLE_MAP_SETTING;
use crate::state::AppState;
use crate::validation::Kept;

/// The configured map and the kept copy of the stored one.
#[derive(Debug)]
pub struct RoleMaps {
    configured: Arc<RoleMap>,
    stored: Kept<Option<Arc<RoleMap>>>,
}

impl RoleMaps {
    /// Over the map the configuration gives.
    pub fn new(configured: RoleMap) -> Self {
        Self {
            configured: Arc::new(configured),
            stored: Kept::default(),
        }
    }

    /// The map in force at `revision` (from
    /// [`ValidationCache::revision`](crate::validation::ValidationCache::revision)):
    /// the stored one if there is one, else the configured one. A stored
    /// map that no longer parses (written by a newer version, say) is an
    /// error rather than a silent fallback: the door then refuses.
    pub async fn current(
        &self,
        state: &AppState,
        revision: Option<i64>,
    ) -> Result<Arc<RoleMap>, AuthError> {
        let stored = self
            .stored
            .get_or_read(revision, || async {
                let Some(value) = state.storage().get_setting(ROLE_MAP_SETTING).await? else {
                    return Ok(None);
                };
                serde_json::from_value::<RoleMap>(value)
                    .map(|map| Some(Arc::new(map)))
                    .map_err(|e| {
                        AuthError::Internal(format!(
                            "the stored imaging role map does not parse: {e}"
                        ))
                    })
            })
            .await?;
        Ok(Option::clone(&stored).unwrap_or_else(|| self.configured.clone()))
    }
}
