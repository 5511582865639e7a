//! [`PasswordStore`](auth_core::store::PasswordStore) for both drivers.
//!
//! The current password is the row whose `seq` equals the user's
//! `password_seq`. `set_password` first increments that counter: the
//! `UPDATE` locks the user row (PostgreSQL) or runs on the one writer
//! (SQLite), so concurrent changes of one user's password queue instead of
//! racing, and a missing user is found before anything is written.
//!
//! The lockout claim (`claim_auth_attempt`) is one conditional `UPDATE ...
//! RETURNING`: it decides whether the account is locked and counts the
//! attempt in the same statement, so concurrent attempts cannot all read
//! "not locked" and then all go on to check the secret.

/// Implements `PasswordStore` for a driver type with a `core: SqlCore<$db>`
/// field, plus the `insert_password` helper `create_user` shares.
macro_rules! password_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            impl $store {
                /// Inserts password number `seq` of a user, inside `tx`.
                async fn insert_password(
                    tx: &mut sqlx::Transaction<'static, $db>,
                    user_id: &str,
                    seq: i64,
                    password: &PasswordRecord,
                ) -> Result<(), sqlx::Error> {
                    sqlx::query(
                        "INSERT INTO passwords \
                         (user_id, seq, hash, created_at, expires_at, self_service) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(user_id)
                    .bind(seq)
                    .bind(password.hash.expose_secret())
                    .bind(to_micros(password.created_at))
                    .bind(to_micros_opt(password.expires_at))
                    .bind(password.self_service)
                    .execute(&mut **tx)
                    .await
                    .map(drop)
                }
            }

            #[async_trait]
            impl PasswordStore for $store {
                async fn current_password(
                    &self,
                    user_id: &str,
                ) -> Result<Option<PasswordRecord>, AuthError> {
                    // LEFT JOIN: no row is an unknown user, a row of NULLs a
                    // user without a password.
                    sqlx::query_as::<_, PasswordRow>(
                        "SELECT p.hash, p.created_at, p.expires_at, p.self_service \
                         FROM users u LEFT JOIN passwords p \
                         ON p.user_id = u.id AND p.seq = u.password_seq \
                         WHERE u.id = $1",
                    )
                    .bind(user_id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("current_password"))?
                    .ok_or_else(|| not_found("user", user_id))?
                    .into_record()
                }

                async fn set_password(
                    &self,
                    user_id: &str,
                    password: &PasswordRecord,
                ) -> Result<(), AuthError> {
                    let mut tx = self.core.begin("set_password").await?;
                    let seq: i64 = sqlx::query_scalar(
                        "UPDATE users SET password_seq = password_seq + 1 WHERE id = $1 \
                         RETURNING password_seq",
                    )
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(failed("set_password"))?
                    .ok_or_else(|| not_found("user", user_id))?;
                    <$store>::insert_password(&mut tx, user_id, seq, password)
                        .await
                        .map_err(write_failed("set_password", "user", || {
                            format!("password of user {user_id}")
                        }))?;
                    sqlx::query(BUMP_TOKEN_REVISION)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("set_password"))?;
                    tx.commit().await.map_err(failed("set_password"))
                }

                async fn rehash_password(
                    &self,
                    user_id: &str,
                    hash: &SecretString,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE passwords SET hash = $2 WHERE user_id = $1 \
                         AND seq = (SELECT password_seq FROM users WHERE id = $1)",
                    )
                    .bind(user_id)
                    .bind(hash.expose_secret())
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed("rehash_password", "user", || {
                        format!("password of user {user_id}")
                    }))?;
                    found(done.rows_affected(), || AuthError::NotFound {
                        what: format!("password of user {user_id}"),
                    })
                }

                async fn password_history(
                    &self,
                    user_id: &str,
                    limit: u32,
                ) -> Result<Vec<PasswordRecord>, AuthError> {
                    let rows = sqlx::query_as::<_, PasswordRow>(
                        "SELECT p.hash, p.created_at, p.expires_at, p.self_service \
                         FROM users u LEFT JOIN passwords p ON p.user_id = u.id \
                         WHERE u.id = $1 ORDER BY p.seq DESC LIMIT $2",
                    )
                    .bind(user_id)
                    .bind(i64::from(limit.max(1)))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("password_history"))?;
                    if rows.is_empty() {
                        return Err(not_found("user", user_id));
                    }
                    let mut history = Vec::with_capacity(rows.len());
                    for row in rows {
                        history.extend(row.into_record()?);
                    }
                    history.truncate(limit as usize);
                    Ok(history)
                }

                async fn auth_state(&self, user_id: &str) -> Result<UserAuthState, AuthError> {
                    sqlx::query_as::<_, AuthStateRow>(
                        "SELECT failed_auth_count, failed_auth_at, last_active_at \
                         FROM users WHERE id = $1",
                    )
                    .bind(user_id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("auth_state"))?
                    .ok_or_else(|| not_found("user", user_id))?
                    .try_into()
                }

                async fn record_auth_failure(
                    &self,
                    user_id: &str,
                    at: DateTime<Utc>,
                ) -> Result<u32, AuthError> {
                    // One statement: the increment happens in the database,
                    // so concurrent failures never overwrite each other.
                    let stored: i64 = sqlx::query_scalar(
                        "UPDATE users SET failed_auth_count = failed_auth_count + 1, \
                         failed_auth_at = $2 WHERE id = $1 RETURNING failed_auth_count",
                    )
                    .bind(user_id)
                    .bind(to_micros(at))
                    .fetch_optional(&self.core.write)
                    .await
                    .map_err(failed("record_auth_failure"))?
                    .ok_or_else(|| not_found("user", user_id))?;
                    count(stored)
                }

                async fn record_auth_success(
                    &self,
                    user_id: &str,
                    at: DateTime<Utc>,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE users SET failed_auth_count = 0, last_active_at = $2 \
                         WHERE id = $1",
                    )
                    .bind(user_id)
                    .bind(to_micros(at))
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("record_auth_success"))?;
                    found(done.rows_affected(), || not_found("user", user_id))
                }

                async fn reset_auth_failures(&self, user_id: &str) -> Result<(), AuthError> {
                    let done = sqlx::query("UPDATE users SET failed_auth_count = 0 WHERE id = $1")
                        .bind(user_id)
                        .execute(&self.core.write)
                        .await
                        .map_err(failed("reset_auth_failures"))?;
                    found(done.rows_affected(), || not_found("user", user_id))
                }

                async fn claim_auth_attempt(
                    &self,
                    user_id: &str,
                    limit: u32,
                    lock_duration: Option<chrono::Duration>,
                    at: DateTime<Utc>,
                ) -> Result<Option<UserAuthState>, AuthError> {
                    // One conditional statement decides and writes: on
                    // PostgreSQL a concurrent claim waits for this row's
                    // lock and then re-checks the condition against the
                    // row as this one left it; on SQLite the one writer
                    // runs claims one after another. A lock that ran out
                    // (its last counted attempt at or before `ran_out`,
                    // NULL when locks never run out) starts a new count.
                    let at = to_micros(at);
                    let ran_out = lock_duration
                        .and_then(|d| d.num_microseconds())
                        .and_then(|d| at.checked_sub(d));
                    let claimed = sqlx::query_as::<_, AuthStateRow>(
                        "UPDATE users SET \
                         failed_auth_count = CASE WHEN failed_auth_count >= $2 THEN 1 \
                         ELSE failed_auth_count + 1 END, \
                         failed_auth_at = $4 \
                         WHERE id = $1 AND (failed_auth_count < $2 OR failed_auth_at <= $3) \
                         RETURNING failed_auth_count, failed_auth_at, last_active_at",
                    )
                    .bind(user_id)
                    .bind(i64::from(limit))
                    .bind(ran_out)
                    .bind(at)
                    .fetch_optional(&self.core.write)
                    .await
                    .map_err(failed("claim_auth_attempt"))?;
                    match claimed {
                        Some(row) => row.try_into().map(Some),
                        None => {
                            self.user_exists(user_id, "claim_auth_attempt").await?;
                            Ok(None)
                        }
                    }
                }

                async fn release_auth_attempt(&self, user_id: &str) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE users SET failed_auth_count = failed_auth_count - 1 \
                         WHERE id = $1 AND failed_auth_count > 0",
                    )
                    .bind(user_id)
                    .execute(&self.core.write)
                    .await
                    .map_err(failed("release_auth_attempt"))?;
                    if done.rows_affected() == 0 {
                        self.user_exists(user_id, "release_auth_attempt").await?;
                    }
                    Ok(())
                }
            }

            impl $store {
                /// `Ok` if the user exists, else [`AuthError::NotFound`]:
                /// for statements whose zero rows may mean either.
                async fn user_exists(
                    &self,
                    user_id: &str,
                    operation: &'static str,
                ) -> Result<(), AuthError> {
                    sqlx::query("SELECT 1 FROM users WHERE id = $1")
                        .bind(user_id)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed(operation))?
                        .map(drop)
                        .ok_or_else(|| not_found("user", user_id))
                }
            }
        };
    };
}

pub(crate) use password_store;
