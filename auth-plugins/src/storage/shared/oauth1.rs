//! [`OAuth1Store`](auth_core::store::OAuth1Store) for both drivers: OAuth1
//! request and access tokens (secrets sealed with the credential key set,
//! bound to the token's id), the nonces of signed requests, and consumer
//! secrets opened from their documents.

/// Implements `OAuth1Store` for a driver type with a `core: SqlCore<_>`
/// field.
macro_rules! oauth1_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            macro_rules! select_request_token {
                () => {
                    "SELECT id, secret_sealed, consumer_id, project_id, expires_at, \
                     authorizing_user_id, role_ids, verifier_hash FROM oauth1_request_tokens"
                };
            }

            macro_rules! select_access_token {
                () => {
                    "SELECT id, secret_sealed, consumer_id, authorizing_user_id, project_id, \
                     role_ids, expires_at FROM oauth1_access_tokens"
                };
            }

            #[async_trait]
            impl OAuth1Store for $store {
                async fn create_oauth1_request_token(
                    &self,
                    token: &OAuth1RequestToken,
                ) -> Result<(), AuthError> {
                    let sealed = seal_text(
                        &self.core.credential_keys,
                        &request_token_purpose(&token.id),
                        &token.secret,
                    )?;
                    sqlx::query(
                        "INSERT INTO oauth1_request_tokens (id, secret_sealed, consumer_id, \
                         project_id, expires_at, authorizing_user_id, role_ids, verifier_hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&token.id)
                    .bind(sealed)
                    .bind(&token.consumer_id)
                    .bind(&token.project_id)
                    .bind(to_micros_opt(token.expires_at))
                    .bind(&token.authorizing_user_id)
                    .bind(role_ids_json(&token.role_ids))
                    .bind(&token.verifier_hash)
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed(
                        "create_oauth1_request_token",
                        "project",
                        || format!("request token {}", token.id),
                    ))?;
                    Ok(())
                }

                async fn get_oauth1_request_token(
                    &self,
                    id: &str,
                ) -> Result<OAuth1RequestToken, AuthError> {
                    sqlx::query_as::<_, OAuth1RequestTokenRow>(concat!(
                        select_request_token!(),
                        " WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_oauth1_request_token"))?
                    .ok_or_else(|| not_found("request token", id))?
                    .open(&self.core.credential_keys)
                }

                async fn authorize_oauth1_request_token(
                    &self,
                    id: &str,
                    user_id: &str,
                    role_ids: &[String],
                    verifier_hash: &str,
                ) -> Result<(), AuthError> {
                    // Only a token nobody authorized yet: of two concurrent
                    // authorizations exactly one sets the verifier.
                    let done = sqlx::query(
                        "UPDATE oauth1_request_tokens SET authorizing_user_id = $2, \
                         role_ids = $3, verifier_hash = $4 \
                         WHERE id = $1 AND verifier_hash IS NULL",
                    )
                    .bind(id)
                    .bind(user_id)
                    .bind(role_ids_json(role_ids))
                    .bind(verifier_hash)
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed(
                        "authorize_oauth1_request_token",
                        "user",
                        || format!("request token {id}"),
                    ))?;
                    if done.rows_affected() == 1 {
                        return Ok(());
                    }
                    // Gone, or authorized already.
                    self.get_oauth1_request_token(id).await?;
                    Err(AuthError::Conflict {
                        what: format!("request token {id} is already authorized"),
                    })
                }

                async fn exchange_oauth1_request_token(
                    &self,
                    request_token_id: &str,
                    access: &OAuth1AccessToken,
                ) -> Result<(), AuthError> {
                    let sealed = seal_text(
                        &self.core.credential_keys,
                        &access_token_purpose(&access.id),
                        &access.secret,
                    )?;
                    let mut tx = self.core.begin("exchange_oauth1_request_token").await?;
                    let gone = sqlx::query(
                        "DELETE FROM oauth1_request_tokens \
                         WHERE id = $1 AND verifier_hash IS NOT NULL",
                    )
                    .bind(request_token_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("exchange_oauth1_request_token"))?;
                    found(gone.rows_affected(), || {
                        not_found("request token", request_token_id)
                    })?;
                    sqlx::query(
                        "INSERT INTO oauth1_access_tokens (id, secret_sealed, consumer_id, \
                         authorizing_user_id, project_id, role_ids, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&access.id)
                    .bind(sealed)
                    .bind(&access.consumer_id)
                    .bind(&access.authorizing_user_id)
                    .bind(&access.project_id)
                    .bind(role_ids_json(&access.role_ids))
                    .bind(to_micros_opt(access.expires_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed(
                        "exchange_oauth1_request_token",
                        "user or project",
                        || format!("access token {}", access.id),
                    ))?;
                    tx.commit()
                        .await
                        .map_err(failed("exchange_oauth1_request_token"))
                }

                async fn get_oauth1_access_token(
                    &self,
                    id: &str,
                ) -> Result<OAuth1AccessToken, AuthError> {
                    sqlx::query_as::<_, OAuth1AccessTokenRow>(concat!(
                        select_access_token!(),
                        " WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_oauth1_access_token"))?
                    .ok_or_else(|| not_found("access token", id))?
                    .open(&self.core.credential_keys)
                }

                async fn list_oauth1_access_tokens(
                    &self,
                    user_id: &str,
                ) -> Result<Vec<OAuth1AccessToken>, AuthError> {
                    sqlx::query_as::<_, OAuth1AccessTokenRow>(concat!(
                        select_access_token!(),
                        " WHERE authorizing_user_id = $1 ORDER BY id"
                    ))
                    .bind(user_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_oauth1_access_tokens"))?
                    .into_iter()
                    .map(|row| row.open(&self.core.credential_keys))
                    .collect()
                }

                async fn delete_oauth1_access_token(&self, id: &str) -> Result<(), AuthError> {
                    self.delete_row(
                        "delete_oauth1_access_token",
                        "DELETE FROM oauth1_access_tokens WHERE id = $1",
                        "access token",
                        id,
                    )
                    .await
                }

                async fn delete_oauth1_consumer_tokens(
                    &self,
                    consumer_id: &str,
                ) -> Result<(), AuthError> {
                    let mut tx = self.core.begin("delete_oauth1_consumer_tokens").await?;
                    sqlx::query("DELETE FROM oauth1_request_tokens WHERE consumer_id = $1")
                        .bind(consumer_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("delete_oauth1_consumer_tokens"))?;
                    let access = sqlx::query(
                        "DELETE FROM oauth1_access_tokens WHERE consumer_id = $1",
                    )
                    .bind(consumer_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("delete_oauth1_consumer_tokens"))?;
                    if access.rows_affected() > 0 {
                        sqlx::query(BUMP_TOKEN_REVISION)
                            .execute(&mut *tx)
                            .await
                            .map_err(failed("delete_oauth1_consumer_tokens"))?;
                    }
                    tx.commit()
                        .await
                        .map_err(failed("delete_oauth1_consumer_tokens"))
                }

                async fn claim_oauth1_nonce(
                    &self,
                    consumer_id: &str,
                    nonce: &str,
                    expires_at: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> Result<bool, AuthError> {
                    sqlx::query("DELETE FROM oauth1_nonces WHERE expires_at < $1")
                        .bind(to_micros(now))
                        .execute(&self.core.write)
                        .await
                        .map_err(failed("claim_oauth1_nonce"))?;
                    // The primary key decides: of two nodes inserting the
                    // same (consumer, nonce), exactly one inserts a row.
                    let done = sqlx::query(
                        "INSERT INTO oauth1_nonces (consumer_id, nonce, expires_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(consumer_id)
                    .bind(nonce)
                    .bind(to_micros(expires_at))
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("claim_oauth1_nonce"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn oauth1_consumer_secret(
                    &self,
                    consumer_id: &str,
                ) -> Result<SecretString, AuthError> {
                    let document = self
                        .get_document(OAUTH1_CONSUMERS, consumer_id)
                        .await?
                        .ok_or_else(|| not_found("consumer", consumer_id))?;
                    let sealed = document
                        .get("secret_sealed")
                        .and_then(serde_json::Value::as_str)
                        .ok_or_else(|| {
                            AuthError::StoreUnavailable(
                                "the stored consumer has no sealed secret".into(),
                            )
                        })?;
                    open_text(
                        &self.core.credential_keys,
                        OAUTH1_CONSUMER_SECRET_PURPOSE,
                        sealed,
                        "consumer secret",
                    )
                }
            }
        };
    };
}

pub(crate) use oauth1_store;
