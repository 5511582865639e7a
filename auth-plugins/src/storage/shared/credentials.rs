//! [`CredentialStore`](auth_core::store::CredentialStore) for both drivers:
//! sealed credentials, one-time passcode claims and application
//! credentials.

/// Implements `CredentialStore` for a driver type with a `core:
/// SqlCore<_>` field.
macro_rules! credential_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            macro_rules! select_credential {
                () => {
                    "SELECT id, user_id, kind, project_id, sealed_blob FROM credentials"
                };
            }

            /// The three queries that read application credentials chosen by
            /// `$cond` (on `application_credentials`): the credentials, their
            /// roles, their access rules.
            macro_rules! app_cred_queries {
                ($cond:literal) => {
                    [
                        concat!(
                            "SELECT id, name, description, user_id, project_id, secret_hash, \
                             expires_at, unrestricted, created_at \
                             FROM application_credentials WHERE ",
                            $cond,
                            " ORDER BY name, id"
                        ),
                        concat!(
                            "SELECT application_credential_id, role_id, role_name \
                             FROM application_credential_roles WHERE application_credential_id \
                             IN (SELECT id FROM application_credentials WHERE ",
                            $cond,
                            ") ORDER BY application_credential_id, position"
                        ),
                        concat!(
                            "SELECT application_credential_id, id, service, path, method \
                             FROM application_credential_access_rules \
                             WHERE application_credential_id \
                             IN (SELECT id FROM application_credentials WHERE ",
                            $cond,
                            ") ORDER BY application_credential_id, position"
                        ),
                    ]
                };
            }

            impl $store {
                /// The application credentials `queries` select, with `key`
                /// and `name` bound as `$1` and `$2`, read in one transaction
                /// so that a concurrent delete cannot leave roles missing.
                async fn load_app_creds(
                    &self,
                    operation: &'static str,
                    queries: [&'static str; 3],
                    key: &str,
                    name: Option<&str>,
                ) -> Result<Vec<ApplicationCredential>, AuthError> {
                    let mut tx = self.core.read.begin().await.map_err(failed(operation))?;
                    let [creds, roles, rules] = queries;
                    let creds = sqlx::query_as::<_, AppCredRow>(creds)
                        .bind(key)
                        .bind(name)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(failed(operation))?;
                    if creds.is_empty() {
                        return Ok(Vec::new());
                    }
                    let roles = sqlx::query_as::<_, AppCredRoleRow>(roles)
                        .bind(key)
                        .bind(name)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(failed(operation))?;
                    let rules = sqlx::query_as::<_, AccessRuleRow>(rules)
                        .bind(key)
                        .bind(name)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(failed(operation))?;
                    tx.commit().await.map_err(failed(operation))?;
                    assemble_app_creds(creds, roles, rules)
                }
            }

            #[async_trait]
            impl CredentialStore for $store {
                async fn list_credentials(
                    &self,
                    user_id: &str,
                    kind: &str,
                ) -> Result<Vec<Credential>, AuthError> {
                    sqlx::query_as::<_, CredentialRow>(concat!(
                        select_credential!(),
                        " WHERE user_id = $1 AND kind = $2 ORDER BY created_at, id"
                    ))
                    .bind(user_id)
                    .bind(kind)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_credentials"))?
                    .into_iter()
                    .map(|row| row.open(&self.core.credential_keys))
                    .collect()
                }

                async fn create_credential(
                    &self,
                    credential: &Credential,
                ) -> Result<(), AuthError> {
                    let sealed =
                        seal_blob(&self.core.credential_keys, &credential.id, &credential.blob)?;
                    sqlx::query(
                        "INSERT INTO credentials \
                         (id, user_id, kind, project_id, sealed_blob, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&credential.id)
                    .bind(&credential.user_id)
                    .bind(&credential.kind)
                    .bind(&credential.project_id)
                    .bind(sealed)
                    .bind(to_micros(Utc::now()))
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed("create_credential", "owner of the credential", || {
                        format!("credential {}", credential.id)
                    }))?;
                    Ok(())
                }

                async fn update_credential(
                    &self,
                    credential: &Credential,
                ) -> Result<(), AuthError> {
                    // A credential is in no token and decides no
                    // validation: the revision stays.
                    let sealed =
                        seal_blob(&self.core.credential_keys, &credential.id, &credential.blob)?;
                    let done = sqlx::query(
                        "UPDATE credentials SET user_id = $2, kind = $3, project_id = $4, \
                         sealed_blob = $5 WHERE id = $1",
                    )
                    .bind(&credential.id)
                    .bind(&credential.user_id)
                    .bind(&credential.kind)
                    .bind(&credential.project_id)
                    .bind(sealed)
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed("update_credential", "owner of the credential", || {
                        format!("credential {}", credential.id)
                    }))?;
                    found(done.rows_affected(), || not_found("credential", &credential.id))
                }

                async fn get_credential(
                    &self,
                    credential_id: &str,
                ) -> Result<Credential, AuthError> {
                    sqlx::query_as::<_, CredentialRow>(concat!(
                        select_credential!(),
                        " WHERE id = $1"
                    ))
                    .bind(credential_id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_credential"))?
                    .ok_or_else(|| not_found("credential", credential_id))?
                    .open(&self.core.credential_keys)
                }

                async fn list_all_credentials(
                    &self,
                    user_id: Option<&str>,
                ) -> Result<Vec<Credential>, AuthError> {
                    sqlx::query_as::<_, CredentialRow>(concat!(
                        select_credential!(),
                        " WHERE ($1 IS NULL OR user_id = $1) ORDER BY user_id, created_at, id"
                    ))
                    .bind(user_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_all_credentials"))?
                    .into_iter()
                    .map(|row| row.open(&self.core.credential_keys))
                    .collect()
                }

                async fn list_access_rules(
                    &self,
                    user_id: &str,
                ) -> Result<Vec<AccessRule>, AuthError> {
                    let rows = sqlx::query_as::<_, (String, String, String, String)>(
                        "SELECT id, service, path, method FROM access_rules \
                         WHERE user_id = $1 ORDER BY service, path, method, id",
                    )
                    .bind(user_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_access_rules"))?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, service, path, method)| AccessRule::new(id, service, path, method))
                        .collect())
                }

                async fn delete_access_rule(&self, user_id: &str, id: &str) -> Result<(), AuthError> {
                    let mut tx = self.core.begin("delete_access_rule").await?;
                    let in_use = sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM application_credential_access_rules WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(failed("delete_access_rule"))?;
                    if in_use > 0 {
                        return Err(AuthError::Forbidden(format!(
                            "Cannot delete access rule {id}: an application credential uses it"
                        )));
                    }
                    let done = sqlx::query("DELETE FROM access_rules WHERE id = $1 AND user_id = $2")
                        .bind(id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("delete_access_rule"))?;
                    if done.rows_affected() == 0 {
                        return Err(not_found("access rule", id));
                    }
                    tx.commit().await.map_err(failed("delete_access_rule"))
                }

                async fn delete_credential(&self, credential_id: &str) -> Result<(), AuthError> {
                    self.delete_row(
                        "delete_credential",
                        "DELETE FROM credentials WHERE id = $1",
                        "credential",
                        credential_id,
                    )
                    .await
                }

                async fn claim_passcode(
                    &self,
                    credential_id: &str,
                    step: i64,
                    expires_at: DateTime<Utc>,
                ) -> Result<bool, AuthError> {
                    // The primary key decides: of two nodes inserting the
                    // same (credential, step), exactly one inserts a row.
                    sqlx::query(
                        "DELETE FROM used_passcodes WHERE credential_id = $1 AND expires_at < $2",
                    )
                    .bind(credential_id)
                    .bind(to_micros(Utc::now()))
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("claim_passcode"))?;
                    let done = sqlx::query(
                        "INSERT INTO used_passcodes (credential_id, step, expires_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(credential_id)
                    .bind(step)
                    .bind(to_micros(expires_at))
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed("claim_passcode", "credential", || {
                        format!("passcode of credential {credential_id}")
                    }))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn create_application_credential(
                    &self,
                    credential: &ApplicationCredential,
                ) -> Result<(), AuthError> {
                    let what = || format!("application credential '{}'", credential.name);
                    let mut tx = self.core.begin("create_application_credential").await?;
                    sqlx::query(
                        "INSERT INTO application_credentials (id, name, description, user_id, \
                         project_id, secret_hash, expires_at, unrestricted, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&credential.id)
                    .bind(&credential.name)
                    .bind(&credential.description)
                    .bind(&credential.user_id)
                    .bind(credential.project_id.as_deref().unwrap_or(NO_PROJECT))
                    .bind(credential.secret_hash.expose_secret())
                    .bind(to_micros_opt(credential.expires_at))
                    .bind(credential.unrestricted)
                    .bind(to_micros(credential.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed("create_application_credential", "owner", what))?;
                    for (position, role) in (0_i64..).zip(&credential.roles) {
                        sqlx::query(
                            "INSERT INTO application_credential_roles \
                             (application_credential_id, role_id, role_name, position) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(&credential.id)
                        .bind(&role.id)
                        .bind(&role.name)
                        .bind(position)
                        .execute(&mut *tx)
                        .await
                        .map_err(write_failed("create_application_credential", "owner", what))?;
                    }
                    for (position, rule) in (0_i64..).zip(&credential.access_rules) {
                        // The user's rule, unless it is one they had.
                        sqlx::query(
                            "INSERT INTO access_rules (id, user_id, service, path, method) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                        )
                        .bind(&rule.id)
                        .bind(&credential.user_id)
                        .bind(&rule.service)
                        .bind(&rule.path)
                        .bind(&rule.method)
                        .execute(&mut *tx)
                        .await
                        .map_err(write_failed("create_application_credential", "owner", what))?;
                        sqlx::query(
                            "INSERT INTO application_credential_access_rules \
                             (application_credential_id, id, service, path, method, position) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(&credential.id)
                        .bind(&rule.id)
                        .bind(&rule.service)
                        .bind(&rule.path)
                        .bind(&rule.method)
                        .bind(position)
                        .execute(&mut *tx)
                        .await
                        .map_err(write_failed("create_application_credential", "owner", what))?;
                    }
                    tx.commit().await.map_err(failed("create_application_credential"))
                }

                async fn get_application_credential(
                    &self,
                    id: &str,
                ) -> Result<ApplicationCredential, AuthError> {
                    self.load_app_creds(
                        "get_application_credential",
                        app_cred_queries!("id = $1 AND ($2 IS NULL OR name = $2)"),
                        id,
                        None,
                    )
                    .await?
                    .pop()
                    .ok_or_else(|| not_found("application credential", id))
                }

                async fn find_application_credential(
                    &self,
                    user_id: &str,
                    name: &str,
                ) -> Result<ApplicationCredential, AuthError> {
                    self.load_app_creds(
                        "find_application_credential",
                        app_cred_queries!("user_id = $1 AND name = $2"),
                        user_id,
                        Some(name),
                    )
                    .await?
                    .pop()
                    .ok_or_else(|| AuthError::NotFound {
                        what: format!("application credential '{name}' of user {user_id}"),
                    })
                }

                async fn list_application_credentials(
                    &self,
                    user_id: &str,
                ) -> Result<Vec<ApplicationCredential>, AuthError> {
                    self.load_app_creds(
                        "list_application_credentials",
                        app_cred_queries!("user_id = $1 AND ($2 IS NULL OR name = $2)"),
                        user_id,
                        None,
                    )
                    .await
                }

                async fn delete_application_credential(&self, id: &str) -> Result<(), AuthError> {
                    self.delete_row(
                        "delete_application_credential",
                        "DELETE FROM application_credentials WHERE id = $1",
                        "application credential",
                        id,
                    )
                    .await
                }
            }
        };
    };
}

pub(crate) use credential_store;
