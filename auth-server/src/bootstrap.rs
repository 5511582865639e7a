//! What `keystone-manage bootstrap` creates, idempotently: the default
//! domain, an admin project, the reader, member, manager, admin and service
//! roles with Keystone 30's implications (admin → manager → member →
//! reader; `service` implies nothing), an admin user holding admin on the
//! project and on the system, and the identity service with its public
//! endpoint in the catalog (with its region). Users, projects, roles,
//! grants and the catalog entries are made through the [`services`], as an
//! administrator's would be.
//!
//! Running it again on a database an older build bootstrapped (roles but no
//! `manager` and no rules) adds what is missing, as Keystone's bootstrap
//! upgrades a deployment from before `manager` existed, including the
//! removal of the old `admin → member` rule.

use auth_core::AuthError;
use auth_core::store::{
    Actor, Assignment, DEFAULT_DOMAIN_ID, Endpoint, Project, Region, Role, Service, Storage,
    Target, User, new_id,
};
use secrecy::SecretString;

use crate::services::catalog::RegionGiven;
use crate::services::users::InitialPassword;
use crate::services::{self, Context};

/// What to bootstrap.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The admin user's name.
    pub admin_user: String,
    /// The admin user's password: set when the user is created, and reset
    /// (revoking the user's tokens) when it is not the user's password, as
    /// `keystone-manage bootstrap` does.
    pub admin_password: SecretString,
    /// The admin project's name.
    pub admin_project: String,
    /// The public URL of this service, for the catalog.
    pub public_url: String,
    /// The catalog region.
    pub region: String,
}

/// What bootstrapping found or made.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    /// The admin user.
    pub user: User,
    /// The admin project.
    pub project: Project,
    /// The admin role.
    pub admin_role: Role,
    /// What this run changed, in words for the operator (empty when it
    /// found everything as planned).
    pub changes: Vec<String>,
}

/// Creates whatever of the bootstrap set is missing, resets the admin
/// password and moves the identity endpoint when they differ from the
/// plan; running it twice changes nothing.
pub async fn run(cx: &Context<'_>, plan: &Bootstrap) -> Result<Bootstrapped, AuthError> {
    let storage = cx.storage();
    let mut changes = Vec::new();
    storage.migrate().await?;
    let project = match storage
        .find_project_by_name(DEFAULT_DOMAIN_ID, &plan.admin_project)
        .await
    {
        Ok(project) => project,
        Err(AuthError::NotFound { .. }) => {
            let project = Project::new(new_id(), plan.admin_project.clone(), DEFAULT_DOMAIN_ID)
                .with_description("Bootstrap project for initializing the cloud.");
            services::projects::create(
                cx,
                &project,
                services::projects::DEFAULT_MAX_PROJECT_TREE_DEPTH,
            )
            .await?;
            changes.push(format!("created project {}", project.name));
            project
        }
        Err(e) => return Err(e),
    };
    let admin_role = roles(cx).await?;
    let user = match storage
        .find_user_by_name(DEFAULT_DOMAIN_ID, &plan.admin_user)
        .await
    {
        Ok(user) => {
            if !has_password(cx, &user, &plan.admin_password).await? {
                services::passwords::reset(cx, &user, plan.admin_password.clone()).await?;
                changes.push(format!(
                    "reset the password of {} (its tokens are revoked)",
                    user.name
                ));
            }
            user
        }
        Err(AuthError::NotFound { .. }) => {
            let user = User::new(new_id(), plan.admin_user.clone(), DEFAULT_DOMAIN_ID)
                .with_default_project(project.id.clone());
            let password = InitialPassword::Bootstrap(plan.admin_password.clone());
            services::users::create(cx, &user, password).await?;
            changes.push(format!("created user {}", user.name));
            user
        }
        Err(e) => return Err(e),
    };
    for target in [Target::Project(project.id.clone()), Target::System] {
        let assignment =
            Assignment::new(admin_role.id.clone(), Actor::User(user.id.clone()), target);
        services::grants::grant(cx, &assignment).await?;
    }
    if let Some(change) = identity_endpoint(cx, plan).await? {
        changes.push(change);
    }
    Ok(Bootstrapped {
        user,
        project,
        admin_role,
        changes,
    })
}

/// Whether `password` is `user`'s current password (verified on the
/// blocking pool, as a login's is; no failure is counted).
async fn has_password(
    cx: &Context<'_>,
    user: &User,
    password: &SecretString,
) -> Result<bool, AuthError> {
    let current = cx.storage().password_history(&user.id, 1).await?;
    let Some(record) = current.into_iter().next() else {
        return Ok(false);
    };
    Ok(cx
        .hasher()
        .verify_async(password.clone(), Some(record.hash))
        .await?
        .is_some())
}

/// The identity service, its region and its public endpoint, through the
/// catalog services as an administrator's calls would make them (Keystone's
/// `_bootstrap_region`, `_bootstrap_service` and `_bootstrap_endpoints`):
/// each made if missing, and an existing endpoint whose URL differs from
/// the plan's is updated. Returns what changed, in words.
async fn identity_endpoint(
    cx: &Context<'_>,
    plan: &Bootstrap,
) -> Result<Option<String>, AuthError> {
    let storage = cx.storage();
    match storage.get_region(&plan.region).await {
        Ok(_) => {}
        Err(AuthError::NotFound { .. }) => {
            services::catalog::create_region(cx, &Region::new(plan.region.clone())).await?;
        }
        Err(e) => return Err(e),
    }
    let service = match storage
        .list_services()
        .await?
        .into_iter()
        .find(|s| s.kind == "identity")
    {
        Some(service) => service,
        None => {
            let service = Service::new(new_id(), "identity", "keystone");
            services::catalog::create_service(cx, &service).await?;
            service
        }
    };
    let url = plan.public_url.trim_end_matches('/');
    let public: Vec<Endpoint> = storage
        .list_endpoints()
        .await?
        .into_iter()
        .filter(|e| e.service_id == service.id && e.interface == "public")
        .collect();
    // The one in the plan's region; else, as keystone-manage moves its
    // endpoint to a new --bootstrap-region-id, the only one there is.
    let in_region = |e: &&Endpoint| e.region.as_deref() == Some(plan.region.as_str());
    let existing = match public.iter().find(in_region) {
        Some(endpoint) => Some(endpoint.clone()),
        None if public.len() == 1 => public.into_iter().next(),
        None => None,
    };
    match existing {
        Some(endpoint)
            if endpoint.url == url && endpoint.region.as_deref() == Some(plan.region.as_str()) =>
        {
            Ok(None)
        }
        Some(mut endpoint) => {
            let was = format!(
                "{} in {}",
                endpoint.url,
                endpoint.region.as_deref().unwrap_or("no region")
            );
            endpoint.url = url.to_owned();
            endpoint.region = Some(plan.region.clone());
            services::catalog::update_endpoint(cx, &endpoint, RegionGiven::Id).await?;
            Ok(Some(format!(
                "moved the identity endpoint from {was} to {url} in {}",
                plan.region
            )))
        }
        None => {
            let endpoint =
                Endpoint::new(new_id(), service.id, "public", url).with_region(plan.region.clone());
            services::catalog::create_endpoint(cx, &endpoint, RegionGiven::Id).await?;
            Ok(Some(format!(
                "created the identity endpoint {url} in {}",
                plan.region
            )))
        }
    }
}

/// Keystone 30's roles and rules, in its order (`_bootstrap_*_role`): each
/// role, then the rule from it to the one below; the admin role is
/// returned.
async fn roles(cx: &Context<'_>) -> Result<Role, AuthError> {
    let storage = cx.storage();
    let reader = role(cx, "reader").await?;
    let member = role(cx, "member").await?;
    implies(storage, &member, &reader).await?;
    let manager = role(cx, "manager").await?;
    implies(storage, &manager, &member).await?;
    let admin = role(cx, "admin").await?;
    implies(storage, &admin, &manager).await?;
    // Before `manager` existed (2023.2), admin implied member directly.
    match storage.delete_implied_role(&admin.id, &member.id).await {
        Ok(()) | Err(AuthError::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    role(cx, "service").await?;
    Ok(admin)
}

/// Makes `prior` imply `implied`, unless it already does.
async fn implies(storage: &dyn Storage, prior: &Role, implied: &Role) -> Result<(), AuthError> {
    match storage.create_implied_role(&prior.id, &implied.id).await {
        Ok(_) | Err(AuthError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn role(cx: &Context<'_>, name: &str) -> Result<Role, AuthError> {
    match cx.storage().find_role_by_name(name).await {
        Ok(role) => Ok(role),
        Err(AuthError::NotFound { .. }) => {
            let role = Role::new(new_id(), name);
            services::roles::create(cx, &role).await?;
            Ok(role)
        }
        Err(e) => Err(e),
    }
}
