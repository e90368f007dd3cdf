{#- People at accounts; a person account has exactly one contact. One row per contact_id: the latest delivered version. -#}
{{ config(
    enabled=not uses_live_form('crm', 'contacts'),
    materialized=incremental_materialization(),
    unique_key=['contact_id'],
    post_hook="{{ delete_rows_of_replaced_partitions(source('crm', 'contacts')) }}",
) }}
with source as (
    select * from {{ staged_source('crm', 'contacts', ['contact_id']) }}
),

versions as (
    select
        *,
        {{ version_rank(['contact_id'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        {{ crm_contact_columns() }},
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final
