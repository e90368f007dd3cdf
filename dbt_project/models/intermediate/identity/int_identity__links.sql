{#- Deterministic pairwise links between source records on strong keys. Each group of records
    sharing a key is linked as a star to its smallest record_key (enough for connectivity).
    One row per (record_key, linked_record_key, match_rule). -#}
with records as (select * from {{ ref('int_identity__source_records') }}),

{#- Contact keys (email, phone) can be shared by different people: a household (given names
    incompatible) or colleagues at companies sharing an address (family names incompatible).
    See macro names_compatible. -#}
{% set contact_keys = {'email': 'email_key', 'phone': 'phone'} %}
{% for rule, key in contact_keys.items() %}
{{ rule }}_conflicts as (
    select
        a.{{ key }} as shared_key,
        max(case when not {{ names_compatible('a', 'b', 'family') }} then 1 else 0 end)
            as has_family_conflict
    from records as a
    inner join records as b
        on a.{{ key }} = b.{{ key }} and a.record_key < b.record_key
    where a.given_name_key is not null and b.given_name_key is not null
        and not a.is_business and not b.is_business
        and not (
            {{ names_compatible('a', 'b', 'given') }} and {{ names_compatible('a', 'b', 'family') }}
        )
    group by a.{{ key }}
),
{% endfor %}

{#- Namesakes: a name + postcode group whose records carry different birth dates is not used. -#}
name_postcode_conflicts as (
    select name_key, postcode
    from records
    where name_key is not null and postcode is not null
    group by name_key, postcode
    having count(distinct birth_date) > 1
),

keys as (
    select
        records.record_key,
        records.tax_id,
        {% for rule, key in contact_keys.items() %}
        case
            {% if rule == 'email' -%}
            -- a role mailbox (info@, office@ …) names a company's inbox, never one person
            when {{ is_role_mailbox('records.email_key') }} then null
            {% endif -%}
            when {{ rule }}_conflicts.shared_key is null then records.{{ key }}
            -- a shared key only links records with the same full name, or given name in a household
            when {{ rule }}_conflicts.has_family_conflict = 1 and records.name_key is not null
                then {{ dbt.concat(["records." ~ key, "'|'", "records.name_key"]) }}
            when {{ rule }}_conflicts.has_family_conflict = 0 and records.given_name_key is not null
                then {{ dbt.concat(["records." ~ key, "'|'", "records.given_name_key"]) }}
        end as {{ rule }}_link_key,
        {% endfor %}
        case when records.birth_date is not null and records.name_key is not null
            then {{ dbt.concat(["records.name_key", "'|'", dbt.safe_cast("records.birth_date", dbt.type_string())]) }}
        end as name_birth_date_key,
        case when records.postcode is not null and records.name_key is not null
            and name_postcode_conflicts.name_key is null
            and replace(records.postcode, '0', '') <> ''
            then {{ dbt.concat(["records.name_key", "'|'", "replace(records.postcode, ' ', '')"]) }}
        end as name_postcode_key,
        case when records.entity = 'contacts'
            then {{ dbt.concat(["'crm:accounts:'", "records.crm_account_id"]) }}
        end as crm_account_key
    from records
    {% for rule, key in contact_keys.items() %}
    left join {{ rule }}_conflicts on records.{{ key }} = {{ rule }}_conflicts.shared_key
    {% endfor %}
    left join name_postcode_conflicts
        on records.name_key = name_postcode_conflicts.name_key
        and records.postcode = name_postcode_conflicts.postcode
),

{% set rules = {
    'tax_id': 'tax_id', 'email': 'email_link_key', 'phone': 'phone_link_key',
    'name_and_birth_date': 'name_birth_date_key', 'name_and_postcode': 'name_postcode_key'
} %}
{% for rule, key in rules.items() %}
{{ rule }}_links as (
    select
        record_key,
        min(record_key) over (partition by {{ key }}) as linked_record_key,
        '{{ rule }}' as match_rule
    from keys
    where {{ key }} is not null
),
{% endfor %}

crm_account_links as (
    select keys.record_key, keys.crm_account_key as linked_record_key, 'crm_account' as match_rule
    from keys
    inner join records on keys.crm_account_key = records.record_key
),

final as (
    {% for rule in rules %}
    select * from {{ rule }}_links where record_key <> linked_record_key
    union all
    {% endfor %}
    select * from crm_account_links
)

select * from final
