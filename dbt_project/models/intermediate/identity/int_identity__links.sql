{#- Deterministic pairwise links between source records on strong keys. Each group of records
    sharing a key is linked as a star to its smallest record_key (enough for connectivity).
    One row per (record_key, linked_record_key, match_rule). -#}
with records as (select * from {{ ref('int_identity__source_records') }}),

{#- Two named records are "clearly different people" when neither one's given name is among the
    other's name words (a swapped first/last name still agrees; a household partner does not). -#}
email_conflicts as (
    select distinct a.email_key
    from records as a
    inner join records as b
        on a.email_key = b.email_key and a.record_key < b.record_key
    where a.given_name_key is not null and b.given_name_key is not null
        and not a.is_business and not b.is_business
        and {{ dbt.position(dbt.concat(["' '", "a.given_name_key", "' '"]), dbt.concat(["' '", "b.name_key", "' '"])) }} = 0
        and {{ dbt.position(dbt.concat(["' '", "b.given_name_key", "' '"]), dbt.concat(["' '", "a.name_key", "' '"])) }} = 0
),

keys as (
    select
        records.record_key,
        records.tax_id,
        case
            when email_conflicts.email_key is null then records.email_key
            -- a shared email only links records that carry the same given name
            when records.given_name_key is not null
                then {{ dbt.concat(["records.email_key", "'|'", "records.given_name_key"]) }}
        end as email_link_key,
        case when records.birth_date is not null and records.name_key is not null
            then {{ dbt.concat(["records.name_key", "'|'", dbt.safe_cast("records.birth_date", dbt.type_string())]) }}
        end as name_birth_date_key,
        case when records.entity = 'contacts'
            then {{ dbt.concat(["'crm:accounts:'", "records.crm_account_id"]) }}
        end as crm_account_key
    from records
    left join email_conflicts on records.email_key = email_conflicts.email_key
),

{% set rules = {'tax_id': 'tax_id', 'email': 'email_link_key', 'name_and_birth_date': 'name_birth_date_key'} %}
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
