{#- Every customer-like source record, with its identity attributes normalised alike.
    One row per (system, entity, source_id). The sources are the contract entities with an
    `identity:` block, their attributes the columns' semantic tags, both read through the
    generated macro identity_sources() (orchestration/dbt_sources.py): a new customer-like source
    needs a contract and a staging model, never a change here. trust_rank orders them for
    survivorship.
    Incremental: a build normalises only the staging rows of each source loaded in or after its
    newest load here, by `_loaded_at` or by load date `_load_date` (either marks a newer
    delivery; one ingest run stamps all its partitions alike, so the last run's rows are read
    again rather than missed; a source with records here from a raw partition since replaced is
    read whole, as a corrected file can make an older version the latest again), and the
    post-hook deletes the records gone from staging (a live source's deletions). -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='record_key',
    post_hook="{{ delete_source_records_gone() }}",
) }}
{%- set text = dbt.type_string() %}
{%- set no_text = "cast(null as " ~ text ~ ")" %}
{#- Output column -> semantic tag and the null of its type, in the model's column order. -#}
{%- set attributes = [
    ('given_name', 'given_name', no_text),
    ('family_name', 'family_name', no_text),
    ('email', 'email', no_text),
    ('phone', 'phone', no_text),
    ('birth_date', 'date_of_birth', 'cast(null as date)'),
    ('tax_id', 'tax_id', no_text),
    ('loyalty_card_no', 'loyalty_card', no_text),
    ('street', 'address', no_text),
    ('postcode', 'postcode', no_text),
    ('city', 'city', no_text),
    ('country', 'country', no_text),
] %}

{#- One form per entity: a live database's entity replaces its file twin while enabled. -#}
{%- set sources = active_identity_sources() %}
{%- set newest_loads = newest_loads_by_source() if is_incremental() else {} %}

with
{%- for source in sources %}
{{ source.model }} as (select * from {{ ref(source.model) }}),
{%- endfor %}

unioned as (
{%- for source in sources %}
    {%- set tagged = source.columns %}
    {%- set is_business = "coalesce((" ~ source.business_when ~ "), false)" if source.business_when else "false" %}
    {#- The full name as the system has it: typed whole, else given then family name. -#}
    {%- set name_parts = [] %}
    {%- for tag in ['given_name', 'family_name'] if tag in tagged %}
        {%- if name_parts %}{% do name_parts.append("' '") %}{% endif %}
        {%- do name_parts.append("coalesce(" ~ tagged[tag] ~ ", '')") %}
    {%- endfor %}
    {%- if 'person_name' in tagged %}
        {%- set person_name = tagged['person_name'] %}
    {%- elif name_parts %}
        {%- set person_name = "nullif(trim(" ~ dbt.concat(name_parts) ~ "), '')" %}
    {%- else %}
        {%- set person_name = none %}
    {%- endif %}
    {#- A business record's name is its company's: the company_name column, else the name. -#}
    {%- if 'company_name' in tagged %}
        {%- set company_name = tagged['company_name'] %}
    {%- elif source.business_when and person_name %}
        {%- set company_name = "case when " ~ is_business ~ " then " ~ person_name ~ " end" %}
    {%- else %}
        {%- set company_name = no_text %}
    {%- endif %}
    {%- if source.business_when and person_name %}
        {%- set person_name = "case when " ~ is_business ~ " then null else " ~ person_name ~ " end" %}
    {%- endif %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ source_record_key(source) }} as record_key,
        '{{ source.system }}' as system,
        '{{ source.entity }}' as entity,
        cast({{ source.source_id }} as {{ text }}) as source_id,
        {{ source.trust_rank }} as trust_rank,
        {{ is_business }} as is_business,
        {{ person_name or no_text }} as person_name,
        {{ company_name }} as company_name,
        {%- for column, tag, null_value in attributes %}
        {{ tagged[tag] if tag in tagged else null_value }} as {{ column }},
        {%- endfor %}
        {{ "cast(" ~ source.group_key ~ " as " ~ text ~ ")" if source.group_key else no_text }} as group_id,
        {{ dbt.safe_cast(source.created_at, dbt.type_timestamp()) if source.created_at_is_date else source.created_at }} as created_at,
        {{ source.updated_at }} as updated_at,
        _load_date,
        _loaded_at
    from {{ source.model }}
    {%- if is_incremental() %}
    {%- set newest = newest_loads.get(source.system ~ ':' ~ source.entity, {}) %}
    where _loaded_at >= cast('{{ newest._loaded_at or '1900-01-01' }}' as {{ dbt.type_timestamp() }})
        or _load_date >= cast('{{ newest._load_date or '1900-01-01' }}' as date)
    {%- endif %}
{%- endfor %}
),

final as (
    select
        *,
        {{ name_key('person_name') }} as name_key,
        {{ dbt.split_part(name_key('coalesce(given_name, person_name)'), "' '", 1) }} as given_name_key,
        {{ dbt.split_part(name_key('coalesce(family_name, person_name)'), "' '", -1) }} as family_name_key,
        {{ email_match_key('email') }} as email_key,
        {{ resolved_at() }} as resolved_at
    from unioned
)

select * from final
