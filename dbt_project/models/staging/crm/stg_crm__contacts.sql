{{ config(enabled=not uses_live_form('crm', 'contacts')) }}
{#- People at accounts; a person account has exactly one contact. One row per contact_id: the latest delivered version. -#}
with source as (
    select * from {{ source('crm', 'contacts') }}
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
