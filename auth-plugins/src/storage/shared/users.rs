//! [`UserStore`](auth_core::store::UserStore) for both drivers: domains,
//! projects, users and groups.

/// Implements `UserStore` for a driver type with a `core: SqlCore<_>` field.
macro_rules! user_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            // Literal SQL (not `format!`): no allocation per call, and the
            // text is the key of each connection's prepared-statement cache.
            macro_rules! select_user {
                () => {
                    "SELECT id, name, domain_id, enabled, default_project_id, options, extra \
                     FROM users"
                };
            }
            macro_rules! select_project {
                () => {
                    "SELECT id, name, domain_id, description, enabled, parent_id, tags FROM projects"
                };
            }
            macro_rules! select_domain {
                () => {
                    "SELECT id, name, description, enabled FROM domains"
                };
            }
            macro_rules! select_group {
                () => {
                    "SELECT id, name, domain_id, description FROM groups"
                };
            }

            #[async_trait]
            impl UserStore for $store {
                async fn get_user(&self, user_id: &str) -> Result<User, AuthError> {
                    sqlx::query_as::<_, UserRow>(concat!(select_user!(), " WHERE id = $1"))
                        .bind(user_id)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed("get_user"))?
                        .ok_or_else(|| not_found("user", user_id))?
                        .try_into()
                }

                async fn find_user_by_name(
                    &self,
                    domain_id: &str,
                    name: &str,
                ) -> Result<User, AuthError> {
                    sqlx::query_as::<_, UserRow>(concat!(
                        select_user!(),
                        " WHERE domain_id = $1 AND name = $2"
                    ))
                    .bind(domain_id)
                    .bind(name)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("find_user_by_name"))?
                    .ok_or_else(|| AuthError::NotFound {
                        what: format!("user '{name}' in domain {domain_id}"),
                    })?
                    .try_into()
                }

                async fn get_domain(&self, domain_id: &str) -> Result<Domain, AuthError> {
                    sqlx::query_as::<_, DomainRow>(concat!(select_domain!(), " WHERE id = $1"))
                        .bind(domain_id)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed("get_domain"))?
                        .map(Domain::from)
                        .ok_or_else(|| not_found("domain", domain_id))
                }

                async fn find_domain_by_name(&self, name: &str) -> Result<Domain, AuthError> {
                    sqlx::query_as::<_, DomainRow>(concat!(select_domain!(), " WHERE name = $1"))
                        .bind(name)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed("find_domain_by_name"))?
                        .map(Domain::from)
                        .ok_or_else(|| AuthError::NotFound {
                            what: format!("domain '{name}'"),
                        })
                }

                async fn create_domain(&self, domain: &Domain) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO domains (id, name, description, enabled) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&domain.id)
                    .bind(&domain.name)
                    .bind(&domain.description)
                    .bind(domain.enabled)
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed("create_domain", "domain", || {
                        format!("domain '{}'", domain.name)
                    }))?;
                    Ok(())
                }

                async fn list_domains(&self) -> Result<Vec<Domain>, AuthError> {
                    let rows =
                        sqlx::query_as::<_, DomainRow>(concat!(select_domain!(), " ORDER BY name"))
                            .fetch_all(&self.core.read)
                            .await
                            .map_err(failed("list_domains"))?;
                    Ok(rows.into_iter().map(Domain::from).collect())
                }

                async fn update_domain(&self, domain: &Domain) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE domains SET name = $2, description = $3, enabled = $4 \
                         WHERE id = $1",
                    )
                    .bind(&domain.id)
                    .bind(&domain.name)
                    .bind(&domain.description)
                    .bind(domain.enabled)
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed("update_domain", "domain", || {
                        format!("domain '{}'", domain.name)
                    }))?;
                    found(done.rows_affected(), || not_found("domain", &domain.id))
                }

                async fn delete_domain(&self, domain_id: &str) -> Result<(), AuthError> {
                    let done = sqlx::query("DELETE FROM domains WHERE id = $1")
                        .bind(domain_id)
                        .execute_revised(&self.core)
                        .await
                        .map_err(|e| {
                            if is_foreign_key_violation(&e) {
                                AuthError::Conflict {
                                    what: format!(
                                        "domain {domain_id}: it still holds users, groups, \
                                         projects or roles"
                                    ),
                                }
                            } else {
                                unavailable("delete_domain", &e)
                            }
                        })?;
                    found(done.rows_affected(), || not_found("domain", domain_id))
                }

                async fn create_project(&self, project: &Project) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO projects (id, name, domain_id, description, enabled, \
                         parent_id, tags) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&project.id)
                    .bind(&project.name)
                    .bind(&project.domain_id)
                    .bind(&project.description)
                    .bind(project.enabled)
                    .bind(&project.parent_id)
                    .bind(tags_json(&project.tags))
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed(
                        "create_project",
                        "domain or parent of the project",
                        || format!("project '{}' in domain {}", project.name, project.domain_id),
                    ))?;
                    Ok(())
                }

                async fn get_project(&self, project_id: &str) -> Result<Project, AuthError> {
                    sqlx::query_as::<_, ProjectRow>(concat!(select_project!(), " WHERE id = $1"))
                        .bind(project_id)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed("get_project"))?
                        .ok_or_else(|| not_found("project", project_id))?
                        .try_into()
                }

                async fn find_project_by_name(
                    &self,
                    domain_id: &str,
                    name: &str,
                ) -> Result<Project, AuthError> {
                    sqlx::query_as::<_, ProjectRow>(concat!(
                        select_project!(),
                        " WHERE domain_id = $1 AND name = $2"
                    ))
                    .bind(domain_id)
                    .bind(name)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("find_project_by_name"))?
                    .ok_or_else(|| AuthError::NotFound {
                        what: format!("project '{name}' in domain {domain_id}"),
                    })?
                    .try_into()
                }

                async fn list_projects(
                    &self,
                    domain_id: Option<&str>,
                ) -> Result<Vec<Project>, AuthError> {
                    let rows = sqlx::query_as::<_, ProjectRow>(concat!(
                        select_project!(),
                        " WHERE ($1 IS NULL OR domain_id = $1) ORDER BY name, id"
                    ))
                    .bind(domain_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_projects"))?;
                    rows.into_iter().map(Project::try_from).collect()
                }

                async fn update_project(&self, project: &Project) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE projects SET name = $2, description = $3, enabled = $4, \
                         tags = $5 WHERE id = $1",
                    )
                    .bind(&project.id)
                    .bind(&project.name)
                    .bind(&project.description)
                    .bind(project.enabled)
                    .bind(tags_json(&project.tags))
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed("update_project", "project", || {
                        format!("project '{}'", project.name)
                    }))?;
                    found(done.rows_affected(), || not_found("project", &project.id))
                }

                async fn delete_project(&self, project_id: &str) -> Result<(), AuthError> {
                    // The credentials tied to it go (Keystone's
                    // delete_credentials_for_project); assignments on it
                    // cascade; default projects pointing at it become NULL
                    // (schema); a child's parent key refuses it, and then
                    // nothing is deleted.
                    let mut tx = self.core.begin("delete_project").await?;
                    sqlx::query("DELETE FROM credentials WHERE project_id = $1")
                        .bind(project_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("delete_project"))?;
                    let done = sqlx::query("DELETE FROM projects WHERE id = $1")
                        .bind(project_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            if is_foreign_key_violation(&e) {
                                not_a_leaf(project_id)
                            } else {
                                unavailable("delete_project", &e)
                            }
                        })?;
                    found(done.rows_affected(), || not_found("project", project_id))?;
                    sqlx::query(BUMP_TOKEN_REVISION)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("delete_project"))?;
                    tx.commit().await.map_err(failed("delete_project"))
                }

                async fn purge_domain(&self, domain_id: &str) -> Result<(), AuthError> {
                    let mut tx = self.core.begin("purge_domain").await?;
                    // Children first would do as well; unhooking the
                    // hierarchy lets one statement delete every project.
                    // Users' and groups' memberships, passwords,
                    // credentials and assignments cascade, and so do the
                    // assignments on the projects and the domain, and the
                    // rules of the domain's roles.
                    for statement in [
                        "UPDATE projects SET parent_id = NULL WHERE domain_id = $1",
                        "DELETE FROM credentials WHERE project_id IN \
                         (SELECT id FROM projects WHERE domain_id = $1)",
                        "DELETE FROM users WHERE domain_id = $1",
                        "DELETE FROM groups WHERE domain_id = $1",
                        "DELETE FROM projects WHERE domain_id = $1",
                        "DELETE FROM roles WHERE domain_id = $1",
                    ] {
                        sqlx::query(statement)
                            .bind(domain_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(failed("purge_domain"))?;
                    }
                    let done = sqlx::query("DELETE FROM domains WHERE id = $1")
                        .bind(domain_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            // Something made in the domain while it went.
                            if is_foreign_key_violation(&e) {
                                AuthError::Conflict {
                                    what: format!(
                                        "domain {domain_id}: something was added to it while it \
                                         was being deleted; try again"
                                    ),
                                }
                            } else {
                                unavailable("purge_domain", &e)
                            }
                        })?;
                    found(done.rows_affected(), || not_found("domain", domain_id))?;
                    sqlx::query(BUMP_TOKEN_REVISION)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("purge_domain"))?;
                    tx.commit().await.map_err(failed("purge_domain"))
                }

                async fn create_user(
                    &self,
                    user: &User,
                    password: Option<&PasswordRecord>,
                ) -> Result<(), AuthError> {
                    let what = || format!("user '{}' in domain {}", user.name, user.domain_id);
                    let mut tx = self.core.begin("create_user").await?;
                    sqlx::query(
                        "INSERT INTO users (id, name, domain_id, enabled, default_project_id, \
                         options, password_seq, created_at, extra) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&user.id)
                    .bind(&user.name)
                    .bind(&user.domain_id)
                    .bind(user.enabled)
                    .bind(&user.default_project_id)
                    .bind(options_json(&user.options)?)
                    .bind(i64::from(password.is_some()))
                    .bind(to_micros(Utc::now()))
                    .bind(extra_json(&user.extra))
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed(
                        "create_user",
                        "domain or default project",
                        what,
                    ))?;
                    if let Some(password) = password {
                        <$store>::insert_password(&mut tx, &user.id, 1, password)
                            .await
                            .map_err(write_failed("create_user", "user", what))?;
                    }
                    tx.commit().await.map_err(failed("create_user"))
                }

                async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>, AuthError> {
                    sqlx::query_as::<_, UserRow>(concat!(
                        select_user!(),
                        " WHERE ($1 IS NULL OR domain_id = $1) \
                         AND ($2 IS NULL OR name = $2) ORDER BY name, id"
                    ))
                    .bind(&filter.domain_id)
                    .bind(&filter.name)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_users"))?
                    .into_iter()
                    .map(User::try_from)
                    .collect()
                }

                async fn update_user(&self, user: &User) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "UPDATE users SET name = $2, enabled = $3, default_project_id = $4, \
                         options = $5, extra = $6 WHERE id = $1",
                    )
                    .bind(&user.id)
                    .bind(&user.name)
                    .bind(user.enabled)
                    .bind(&user.default_project_id)
                    .bind(options_json(&user.options)?)
                    .bind(extra_json(&user.extra))
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed("update_user", "default project", || {
                        format!("user '{}' in domain {}", user.name, user.domain_id)
                    }))?;
                    found(done.rows_affected(), || not_found("user", &user.id))
                }

                async fn delete_user(&self, user_id: &str) -> Result<(), AuthError> {
                    // One statement: passwords, credentials, memberships,
                    // assignments and application credentials cascade.
                    self.delete_row(
                        "delete_user",
                        "DELETE FROM users WHERE id = $1",
                        "user",
                        user_id,
                    )
                    .await
                }

                async fn create_group(&self, group: &Group) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO groups (id, name, domain_id, description) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&group.id)
                    .bind(&group.name)
                    .bind(&group.domain_id)
                    .bind(&group.description)
                    .execute(&self.core.write)
                    .await
                    .map_err(write_failed(
                        "create_group",
                        "domain of the group",
                        || format!("group '{}' in domain {}", group.name, group.domain_id),
                    ))?;
                    Ok(())
                }

                async fn get_group(&self, group_id: &str) -> Result<Group, AuthError> {
                    sqlx::query_as::<_, GroupRow>(concat!(select_group!(), " WHERE id = $1"))
                        .bind(group_id)
                        .fetch_optional(&self.core.read)
                        .await
                        .map_err(failed("get_group"))?
                        .map(Group::from)
                        .ok_or_else(|| not_found("group", group_id))
                }

                async fn list_groups(&self, filter: &GroupFilter) -> Result<Vec<Group>, AuthError> {
                    let rows = sqlx::query_as::<_, GroupRow>(concat!(
                        select_group!(),
                        " WHERE ($1 IS NULL OR domain_id = $1) \
                         AND ($2 IS NULL OR name = $2) ORDER BY name, id"
                    ))
                    .bind(&filter.domain_id)
                    .bind(&filter.name)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_groups"))?;
                    Ok(rows.into_iter().map(Group::from).collect())
                }

                async fn update_group(&self, group: &Group) -> Result<(), AuthError> {
                    // A group's name and description are in no token and
                    // decide no validation: the revision stays.
                    let done =
                        sqlx::query("UPDATE groups SET name = $2, description = $3 WHERE id = $1")
                            .bind(&group.id)
                            .bind(&group.name)
                            .bind(&group.description)
                            .execute(&self.core.write)
                            .await
                            .map_err(write_failed("update_group", "group", || {
                                format!("group '{}' in domain {}", group.name, group.domain_id)
                            }))?;
                    found(done.rows_affected(), || not_found("group", &group.id))
                }

                async fn delete_group(&self, group_id: &str) -> Result<(), AuthError> {
                    self.delete_row(
                        "delete_group",
                        "DELETE FROM groups WHERE id = $1",
                        "group",
                        group_id,
                    )
                    .await
                }

                async fn add_user_to_group(
                    &self,
                    user_id: &str,
                    group_id: &str,
                ) -> Result<(), AuthError> {
                    sqlx::query(
                        "INSERT INTO group_members (user_id, group_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(user_id)
                    .bind(group_id)
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed(
                        "add_user_to_group",
                        "user or group",
                        || format!("membership of user {user_id} in group {group_id}"),
                    ))?;
                    Ok(())
                }

                async fn remove_user_from_group(
                    &self,
                    user_id: &str,
                    group_id: &str,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "DELETE FROM group_members WHERE user_id = $1 AND group_id = $2",
                    )
                    .bind(user_id)
                    .bind(group_id)
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("remove_user_from_group"))?;
                    found(done.rows_affected(), || AuthError::NotFound {
                        what: format!("membership of user {user_id} in group {group_id}"),
                    })
                }

                async fn list_user_groups(&self, user_id: &str) -> Result<Vec<Group>, AuthError> {
                    let rows = sqlx::query_as::<_, GroupRow>(
                        "SELECT g.id, g.name, g.domain_id, g.description \
                         FROM group_members m JOIN groups g ON g.id = m.group_id \
                         WHERE m.user_id = $1 ORDER BY g.name, g.id",
                    )
                    .bind(user_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_user_groups"))?;
                    Ok(rows.into_iter().map(Group::from).collect())
                }

                async fn list_group_users(&self, group_id: &str) -> Result<Vec<User>, AuthError> {
                    sqlx::query_as::<_, UserRow>(
                        "SELECT u.id, u.name, u.domain_id, u.enabled, u.default_project_id, \
                         u.options, u.extra \
                         FROM group_members m JOIN users u ON u.id = m.user_id \
                         WHERE m.group_id = $1 ORDER BY u.name, u.id",
                    )
                    .bind(group_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_group_users"))?
                    .into_iter()
                    .map(User::try_from)
                    .collect()
                }
            }
        };
    };
}

pub(crate) use user_store;
