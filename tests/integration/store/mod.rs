//! The storage conformance suite: every test is written once, against
//! `Arc<dyn Storage>`, and runs on SQLite (a temporary file) and on
//! PostgreSQL (a fresh schema in the server `AUTH_TEST_POSTGRES_URL` names;
//! skipped with a message when it is unset, a failure when
//! `AUTH_TEST_REQUIRE_POSTGRES=1`, as in CI).

mod assignments;
mod counters;
mod crash;
mod credentials;
mod documents;
mod drivers;
pub(crate) mod harness;
mod imaging;
mod implied;
mod lockout;
mod oauth1;
mod passwords;
mod records;
mod revision;
mod trusts;
mod users;

/// Instantiates each `module::test` for both drivers, as
/// `store::sqlite::test` and `store::postgres::test`.
macro_rules! conformance {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let fixture = super::harness::Fixture::sqlite().await;
                    super::$module::$test(&fixture).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(fixture) = super::harness::Fixture::postgres().await else {
                        return;
                    };
                    super::$module::$test(&fixture).await;
                }
            )*
        }
    };
}

conformance! {
    users::migrate_is_idempotent_and_keeps_the_default_domain,
    users::domains_round_trip_with_typed_errors,
    users::a_domain_in_use_cannot_be_deleted,
    users::projects_round_trip_with_typed_errors,
    users::projects_keep_their_parent_and_tags,
    users::purging_a_domain_deletes_what_it_holds_and_nothing_else,
    users::users_round_trip_with_typed_errors,
    users::a_failed_create_user_writes_nothing,
    users::groups_and_memberships,
    users::groups_are_listed_updated_and_list_their_members,
    passwords::current_password_and_history,
    passwords::auth_counters,
    passwords::concurrent_failures_add_exactly_n,
    lockout::claims_admit_at_most_the_limit_and_locks_run_out,
    lockout::concurrent_wrong_passwords_check_at_most_the_limit,
    lockout::a_right_password_after_the_limit_is_refused_and_resets_nothing,
    lockout::passwords_and_passcodes_share_one_limit,
    lockout::exempt_users_logins_write_nothing,
    assignments::roles_round_trip_with_typed_errors,
    assignments::grants_revokes_and_listing,
    assignments::effective_roles_include_groups_without_repeats,
    assignments::deletes_cascade_to_what_hangs_off_and_nothing_else,
    assignments::inherited_grants_reach_the_projects_below_their_target,
    implied::implied_roles_round_trip_with_typed_errors,
    implied::implied_roles_refuse_cycles_and_deep_chains,
    implied::deleting_a_role_deletes_its_rules_either_way_round,
    implied::implied_role_changes_move_the_revision,
    implied::concurrent_rules_cannot_close_a_cycle,
    credentials::credentials_are_sealed_at_rest,
    credentials::credentials_are_updated_and_sealed_again,
    credentials::a_blob_that_does_not_open_is_an_error,
    credentials::passcodes_are_claimed_once,
    credentials::application_credentials_round_trip,
    credentials::a_failed_application_credential_writes_nothing,
    records::catalog_round_trip,
    records::catalog_regions_and_associations,
    records::revocations_list_and_prune,
    records::revocations_are_exact_to_the_microsecond,
    records::key_sets_are_saved_by_compare_and_set,
    records::audit_filters_pages_and_prunes,
    records::handler_bindings_round_trip,
    revision::the_token_revision_follows_validation_relevant_writes,
    revision::group_memberships_move_the_revision_and_renames_do_not,
    counters::counters_adjust_reset_and_list,
    counters::concurrent_counter_increments_add_exactly_n,
    counters::user_extra_attributes_round_trip,
    documents::documents_round_trip_per_collection_without_moving_the_revision,
    imaging::settings_are_replaced_whole_and_move_the_revision,
    imaging::share_tokens_round_trip_with_typed_errors,
    imaging::share_tokens_are_pruned_by_expiry_only,
    imaging::share_token_deletes_move_the_revision_and_creates_do_not,
    trusts::trusts_round_trip_and_delete_with_what_they_hang_off,
    oauth1::request_tokens_are_sealed_authorized_once_and_exchanged_once,
    oauth1::access_tokens_round_trip_and_deletes_move_the_revision,
    oauth1::nonces_are_claimed_once_until_they_expire,
    oauth1::consumer_secrets_open_from_their_documents,
}
