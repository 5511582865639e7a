//! [`AssignmentStore`](auth_core::store::AssignmentStore) for both drivers.

/// Implements `AssignmentStore` for a driver type with a `core:
/// SqlCore<_>` field.
macro_rules! assignment_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::storage::shared::prelude::*;

            #[async_trait]
            impl AssignmentStore for $store {
                async fn create_role(&self, role: &Role) -> Result<(), AuthError> {
                    sqlx::query("INSERT INTO roles (id, name, domain_id) VALUES ($1, $2, $3)")
                        .bind(&role.id)
                        .bind(&role.name)
                        .bind(&role.domain_id)
                        .execute(&self.core.write)
                        .await
                        .map_err(write_failed("create_role", "domain of the role", || {
                            format!("role '{}'", role.name)
                        }))?;
                    Ok(())
                }

                async fn get_role(&self, role_id: &str) -> Result<Role, AuthError> {
                    sqlx::query_as::<_, RoleRow>(
                        "SELECT id, name, domain_id FROM roles WHERE id = $1",
                    )
                    .bind(role_id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_role"))?
                    .map(Role::from)
                    .ok_or_else(|| not_found("role", role_id))
                }

                async fn find_role_by_name(&self, name: &str) -> Result<Role, AuthError> {
                    sqlx::query_as::<_, RoleRow>(
                        "SELECT id, name, domain_id FROM roles \
                         WHERE name = $1 AND domain_id IS NULL",
                    )
                    .bind(name)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("find_role_by_name"))?
                    .map(Role::from)
                    .ok_or_else(|| AuthError::NotFound {
                        what: format!("role '{name}'"),
                    })
                }

                async fn list_roles(&self) -> Result<Vec<Role>, AuthError> {
                    let rows = sqlx::query_as::<_, RoleRow>(
                        "SELECT id, name, domain_id FROM roles ORDER BY name, id",
                    )
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_roles"))?;
                    Ok(rows.into_iter().map(Role::from).collect())
                }

                async fn update_role(&self, role: &Role) -> Result<(), AuthError> {
                    let done = sqlx::query("UPDATE roles SET name = $2 WHERE id = $1")
                        .bind(&role.id)
                        .bind(&role.name)
                        .execute_revised(&self.core)
                        .await
                        .map_err(write_failed("update_role", "role", || {
                            format!("role '{}'", role.name)
                        }))?;
                    found(done.rows_affected(), || not_found("role", &role.id))
                }

                async fn delete_role(&self, role_id: &str) -> Result<(), AuthError> {
                    // Its assignments and implied-role rules cascade.
                    self.delete_row(
                        "delete_role",
                        "DELETE FROM roles WHERE id = $1",
                        "role",
                        role_id,
                    )
                    .await
                }

                async fn grant(&self, assignment: &Assignment) -> Result<(), AuthError> {
                    let (actor_type, actor_id, user_id, group_id) =
                        actor_columns(&assignment.actor);
                    let (target_type, target_id, project_id, domain_id) =
                        target_columns(&assignment.target);
                    if assignment.inherited && assignment.target == Target::System {
                        return Err(AuthError::bad_request(
                            "a role cannot be inherited from the system",
                        ));
                    }
                    sqlx::query(
                        "INSERT INTO assignments (actor_type, actor_id, target_type, target_id, \
                         role_id, user_id, group_id, project_id, domain_id, inherited) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                    )
                    .bind(actor_type)
                    .bind(actor_id)
                    .bind(target_type)
                    .bind(target_id)
                    .bind(&assignment.role_id)
                    .bind(user_id)
                    .bind(group_id)
                    .bind(project_id)
                    .bind(domain_id)
                    .bind(assignment.inherited)
                    .execute_revised(&self.core)
                    .await
                    .map_err(write_failed(
                        "grant",
                        "role, user, group, project or domain of the assignment",
                        || "assignment".to_owned(),
                    ))?;
                    Ok(())
                }

                async fn revoke(&self, assignment: &Assignment) -> Result<(), AuthError> {
                    let (actor_type, actor_id, _, _) = actor_columns(&assignment.actor);
                    let (target_type, target_id, _, _) = target_columns(&assignment.target);
                    let done = sqlx::query(
                        "DELETE FROM assignments WHERE actor_type = $1 AND actor_id = $2 \
                         AND target_type = $3 AND target_id = $4 AND role_id = $5 \
                         AND inherited = $6",
                    )
                    .bind(actor_type)
                    .bind(actor_id)
                    .bind(target_type)
                    .bind(target_id)
                    .bind(&assignment.role_id)
                    .bind(assignment.inherited)
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("revoke"))?;
                    found(done.rows_affected(), || AuthError::NotFound {
                        what: format!("assignment of role {}", assignment.role_id),
                    })
                }

                async fn list_assignments(
                    &self,
                    filter: &AssignmentFilter,
                ) -> Result<Vec<Assignment>, AuthError> {
                    let actor = filter.actor.as_ref().map(actor_columns);
                    let target = filter.target.as_ref().map(target_columns);
                    sqlx::query_as::<_, AssignmentRow>(
                        "SELECT role_id, actor_type, actor_id, target_type, target_id, inherited \
                         FROM assignments WHERE ($1 IS NULL OR role_id = $1) \
                         AND ($2 IS NULL OR actor_type = $2) AND ($3 IS NULL OR actor_id = $3) \
                         AND ($4 IS NULL OR target_type = $4) AND ($5 IS NULL OR target_id = $5) \
                         AND ($6 IS NULL OR inherited = $6) \
                         ORDER BY actor_type, actor_id, target_type, target_id, role_id, inherited",
                    )
                    .bind(&filter.role_id)
                    .bind(actor.map(|a| a.0))
                    .bind(actor.map(|a| a.1))
                    .bind(target.map(|t| t.0))
                    .bind(target.map(|t| t.1))
                    .bind(filter.inherited)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_assignments"))?
                    .into_iter()
                    .map(Assignment::try_from)
                    .collect()
                }

                async fn effective_roles(
                    &self,
                    user_id: &str,
                    target: &Target,
                ) -> Result<Vec<Role>, AuthError> {
                    // The user and its groups (`actors`) against the
                    // grants that reach the target (`sources`): the direct
                    // ones on it and, for a project, the inherited ones on
                    // its domain and on each project above it (`above`, at
                    // most the tree's depth of primary-key lookups). Each
                    // join is a lookup on the assignments primary key.
                    let (target_type, target_id, _, _) = target_columns(target);
                    let rows = sqlx::query_as::<_, RoleRow>(
                        "WITH RECURSIVE above (id) AS ( \
                           SELECT parent_id FROM projects \
                           WHERE $2 = 'project' AND id = $3 AND parent_id IS NOT NULL \
                           UNION \
                           SELECT p.parent_id FROM projects p JOIN above ON p.id = above.id \
                           WHERE p.parent_id IS NOT NULL), \
                         sources (target_type, target_id, inherited) AS ( \
                           SELECT CAST($2 AS TEXT), CAST($3 AS TEXT), FALSE \
                           UNION ALL \
                           SELECT 'domain', domain_id, TRUE FROM projects \
                           WHERE $2 = 'project' AND id = $3 \
                           UNION ALL \
                           SELECT 'project', id, TRUE FROM above), \
                         actors (actor_type, actor_id) AS ( \
                           SELECT 'user', CAST($1 AS TEXT) \
                           UNION ALL \
                           SELECT 'group', group_id FROM group_members WHERE user_id = $1) \
                         SELECT id, name, domain_id FROM roles WHERE id IN ( \
                           SELECT a.role_id FROM actors c CROSS JOIN sources s \
                           JOIN assignments a ON a.actor_type = c.actor_type \
                           AND a.actor_id = c.actor_id AND a.target_type = s.target_type \
                           AND a.target_id = s.target_id AND a.inherited = s.inherited) \
                         ORDER BY name, id",
                    )
                    .bind(user_id)
                    .bind(target_type)
                    .bind(target_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("effective_roles"))?;
                    Ok(rows.into_iter().map(Role::from).collect())
                }

                async fn targets_for_user(&self, user_id: &str) -> Result<Vec<Target>, AuthError> {
                    // The targets of the direct grants, and the projects
                    // the inherited ones reach: every project of a domain,
                    // every project below a project (`below`, walked down
                    // the tree).
                    sqlx::query_as::<_, TargetRow>(
                        "WITH RECURSIVE held (target_type, target_id, inherited) AS ( \
                           SELECT target_type, target_id, inherited FROM assignments \
                           WHERE actor_type = 'user' AND actor_id = $1 \
                           UNION \
                           SELECT a.target_type, a.target_id, a.inherited FROM group_members m \
                           JOIN assignments a ON a.actor_type = 'group' \
                           AND a.actor_id = m.group_id WHERE m.user_id = $1), \
                         below (id) AS ( \
                           SELECT p.id FROM held h JOIN projects p \
                           ON (h.target_type = 'domain' AND p.domain_id = h.target_id) \
                           OR (h.target_type = 'project' AND p.parent_id = h.target_id) \
                           WHERE h.inherited \
                           UNION \
                           SELECT p.id FROM projects p JOIN below b ON p.parent_id = b.id) \
                         SELECT target_type, target_id FROM held WHERE NOT inherited \
                         UNION \
                         SELECT 'project', id FROM below \
                         ORDER BY target_type, target_id",
                    )
                    .bind(user_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("targets_for_user"))?
                    .into_iter()
                    .map(Target::try_from)
                    .collect()
                }

                async fn create_implied_role(
                    &self,
                    prior_role_id: &str,
                    implied_role_id: &str,
                ) -> Result<ImpliedRole, AuthError> {
                    const OPERATION: &str = "create_implied_role";
                    let mut tx = self.core.begin(OPERATION).await?;
                    let roles = sqlx::query_as::<_, RoleRow>(
                        "SELECT id, name, domain_id FROM roles WHERE id IN ($1, $2)",
                    )
                    .bind(prior_role_id)
                    .bind(implied_role_id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(failed(OPERATION))?;
                    let roles: Vec<Role> = roles.into_iter().map(Role::from).collect();
                    let role = |id: &str| {
                        roles
                            .iter()
                            .find(|r| r.id == id)
                            .cloned()
                            .ok_or_else(|| not_found("role", id))
                    };
                    let (prior, implied) = (role(prior_role_id)?, role(implied_role_id)?);
                    // The rule first, then the revision, then the check: the
                    // order every write takes its locks in (data, then the
                    // revision row), so no deadlock. Holding the revision
                    // row serializes rule writers: on PostgreSQL the rules
                    // read next include every rule committed before this
                    // one got the row (each statement of a READ COMMITTED
                    // transaction reads anew); on SQLite `BEGIN IMMEDIATE`
                    // already did. So two writers cannot close a cycle
                    // between them: the second sees the first's rule.
                    sqlx::query(
                        "INSERT INTO implied_roles (prior_role_id, implied_role_id) \
                         VALUES ($1, $2)",
                    )
                    .bind(prior_role_id)
                    .bind(implied_role_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(write_failed(OPERATION, "role", || {
                        format!("implied role: {prior_role_id} implies {implied_role_id}")
                    }))?;
                    sqlx::query(BUMP_TOKEN_REVISION)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OPERATION))?;
                    let others = sqlx::query_as::<_, ImpliedRoleRow>(implied_role_select!(
                        "WHERE NOT (r.prior_role_id = $1 AND r.implied_role_id = $2)"
                    ))
                    .bind(prior_role_id)
                    .bind(implied_role_id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(failed(OPERATION))?;
                    auth_core::implied_roles::RoleGraph::new(
                        others.into_iter().map(ImpliedRole::from),
                    )
                    .check_new_rule(prior_role_id, implied_role_id)?;
                    tx.commit().await.map_err(failed(OPERATION))?;
                    Ok(ImpliedRole::new(prior, implied))
                }

                async fn get_implied_role(
                    &self,
                    prior_role_id: &str,
                    implied_role_id: &str,
                ) -> Result<ImpliedRole, AuthError> {
                    sqlx::query_as::<_, ImpliedRoleRow>(implied_role_select!(
                        "WHERE r.prior_role_id = $1 AND r.implied_role_id = $2"
                    ))
                    .bind(prior_role_id)
                    .bind(implied_role_id)
                    .fetch_optional(&self.core.read)
                    .await
                    .map_err(failed("get_implied_role"))?
                    .map(ImpliedRole::from)
                    .ok_or_else(|| no_such_rule(prior_role_id, implied_role_id))
                }

                async fn delete_implied_role(
                    &self,
                    prior_role_id: &str,
                    implied_role_id: &str,
                ) -> Result<(), AuthError> {
                    let done = sqlx::query(
                        "DELETE FROM implied_roles \
                         WHERE prior_role_id = $1 AND implied_role_id = $2",
                    )
                    .bind(prior_role_id)
                    .bind(implied_role_id)
                    .execute_revised(&self.core)
                    .await
                    .map_err(failed("delete_implied_role"))?;
                    found(done.rows_affected(), || {
                        no_such_rule(prior_role_id, implied_role_id)
                    })
                }

                async fn list_implied_roles(
                    &self,
                    prior_role_id: &str,
                ) -> Result<Vec<ImpliedRole>, AuthError> {
                    let rows = sqlx::query_as::<_, ImpliedRoleRow>(implied_role_select!(
                        "WHERE r.prior_role_id = $1 ORDER BY i.name, i.id"
                    ))
                    .bind(prior_role_id)
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_implied_roles"))?;
                    Ok(rows.into_iter().map(ImpliedRole::from).collect())
                }

                async fn list_role_inferences(&self) -> Result<Vec<ImpliedRole>, AuthError> {
                    let rows = sqlx::query_as::<_, ImpliedRoleRow>(implied_role_select!(
                        "ORDER BY p.name, p.id, i.name, i.id"
                    ))
                    .fetch_all(&self.core.read)
                    .await
                    .map_err(failed("list_role_inferences"))?;
                    Ok(rows.into_iter().map(ImpliedRole::from).collect())
                }
            }
        };
    };
}

/// A rule and both its roles, from `implied_roles r`, followed by `$rest`
/// (a `WHERE` on `r`, an `ORDER BY`): the columns of `ImpliedRoleRow`, as
/// one literal, so that every query using it stays `'static`.
macro_rules! implied_role_select {
    ($rest:literal) => {
        concat!(
            "SELECT p.id AS prior_id, p.name AS prior_name, p.domain_id AS prior_domain_id, \
             i.id AS implied_id, i.name AS implied_name, i.domain_id AS implied_domain_id \
             FROM implied_roles r JOIN roles p ON p.id = r.prior_role_id \
             JOIN roles i ON i.id = r.implied_role_id ",
            $rest
        )
    };
}

pub(crate) use assignment_store;
pub(crate) use implied_role_select;
