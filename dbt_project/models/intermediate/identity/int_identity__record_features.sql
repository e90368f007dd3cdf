{#- The attributes every pair of source records is compared on, standardised for comparison:
    names as a canonical given and family name (nicknames, transliterations and native scripts
    mapped through the identity_name_variants seed), email as typed and as a canonical key,
    placeholder postcodes dropped, the group (CRM account) of the record. Incremental: a build
    hashes only the source records normalised since its last build and works out those that are
    new or whose attributes changed (attributes_hash); a change to the seeds needs a full
    resolution (`dbt build --full-refresh`, docs/identity.md).
    One row per source record. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='record_key',
    post_hook="{{ delete_rows_gone_upstream(ref('int_identity__source_records'), ['record_key']) }}",
) }}
with source_records as (
    select * from {{ ref('int_identity__source_records') }}
    {% if is_incremental() %}where {{ resolved_since_last_build('resolved_at') }}{% endif %}
),

{%- set compared_attributes = [
    'system', 'entity', 'is_business', 'person_name', 'given_name', 'family_name', 'company_name',
    'email', 'email_key', 'phone', 'birth_date', 'postcode', 'city', 'tax_id', 'group_id'] %}
{%- set hashed_parts = [] %}
{%- for column in compared_attributes %}
    {%- if not loop.first %}{% do hashed_parts.append("'|'") %}{% endif %}
    {%- do hashed_parts.append("coalesce(" ~ dbt.safe_cast(column, dbt.type_string()) ~ ", '')") %}
{%- endfor %}

hashed as (
    select
        source_records.*,
        {{ dbt.hash(dbt.concat(hashed_parts)) }} as attributes_hash
    from source_records
),

records as (
    select * from hashed
    {% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as resolved
        where resolved.record_key = hashed.record_key
            and resolved.attributes_hash = hashed.attributes_hash
    )
    {% endif %}
),

{#- variants folded as name tokens are (stripping accents also strips the hamza of عائشة) -#}
name_variants as (
    select {{ name_tokens('name_variant') }} as name_variant, canonical_name
    from {{ ref('identity_name_variants') }}
),

tokens as (
    select
        record_key,
        {{ name_tokens("coalesce(person_name, trim(" ~ dbt.concat(["coalesce(given_name, '')", "' '", "coalesce(family_name, '')"]) ~ "))") }}
            as name_text
    from records
    where not is_business
),

{#- Chinese names in characters carry no space: the family name is the first character. -#}
split_names as (
    select
        record_key,
        case when {{ is_han_script('name_text') }} then substr(name_text, 1, 1)
            else {{ word('name_text', 1) }} end as given_token,
        case when {{ is_han_script('name_text') }} then substr(name_text, 2)
            when name_text like '% %' then {{ word('name_text', -1) }} end as family_token
    from tokens
),

{#- Chinese characters were split family-first, so given and family are swapped there; name
    comparisons are order-insensitive, which makes that harmless. -#}
standardised as (
    select
        split_names.record_key,
        coalesce(given_variant.canonical_name, split_names.given_token) as given_std,
        coalesce(family_variant.canonical_name, split_names.family_token) as family_std
    from split_names
    left join name_variants as given_variant
        on split_names.given_token = given_variant.name_variant
    left join name_variants as family_variant
        on split_names.family_token = family_variant.name_variant
),

final as (
    select
        records.record_key,
        records.system,
        records.entity,
        records.is_business,
        standardised.given_std,
        standardised.family_std,
        -- order-insensitive: swapped fields and family-first names compare alike
        case when standardised.family_std is null then standardised.given_std
            else {{ dbt.concat([
                "least(standardised.given_std, standardised.family_std)", "' '",
                "greatest(standardised.given_std, standardised.family_std)"]) }}
        end as name_std,
        case when records.is_business then {{ name_key('records.company_name') }} end as company_key,
        records.email,
        records.email_key,
        records.phone,
        records.birth_date,
        case when replace(replace(records.postcode, '0', ''), ' ', '') <> ''
            then lower(replace(records.postcode, ' ', '')) end as postcode_key,
        lower(records.city) as city_key,
        records.tax_id,
        case when records.group_id is not null
            then {{ dbt.concat(["records.system", "':'", "records.group_id"]) }} end as group_key,
        records.attributes_hash,
        {{ resolved_at() }} as resolved_at
    from records
    left join standardised on records.record_key = standardised.record_key
)

select * from final
