{#- Every customer-like source record, with its identity attributes normalised alike.
    One row per (system, entity, source_id). trust_rank orders systems for survivorship. -#}
with contacts as (select * from {{ ref('stg_crm__contacts') }}),
accounts as (select * from {{ ref('stg_crm__accounts') }}),
erp_customers as (select * from {{ ref('stg_erp__customers') }}),
users as (select * from {{ ref('stg_webshop__users') }}),
subscribers as (select * from {{ ref('stg_subscriptions__subscribers') }}),
loyalty_cards as (select * from {{ ref('stg_pos__loyalty_cards') }}),
tickets as (select * from {{ ref('stg_support__tickets') }}),

{%- set full_name = "trim(" ~ dbt.concat(["coalesce(first_name, '')", "' '", "coalesce(last_name, '')"]) ~ ")" %}
{%- set no_text = "cast(null as " ~ dbt.type_string() ~ ")" %}

unioned as (
    select 'crm' as system, 'contacts' as entity, contact_id as source_id, 1 as trust_rank,
        false as is_business, nullif({{ full_name }}, '') as person_name,
        {{ no_text }} as company_name, first_name as given_name, last_name as family_name,
        email, phone, birth_date, {{ no_text }} as tax_id, {{ no_text }} as loyalty_card_no,
        street, postcode, city, country, account_id as crm_account_id, created_at, updated_at
    from contacts
    union all
    select 'crm', 'accounts', account_id, 1,
        account_type = 'business', null, account_name,
        null, null, null, null, null,
        tax_id, null,
        null, null, null, country, account_id, created_at, updated_at
    from accounts
    union all
    select 'erp', 'customers', customer_no, 2,
        is_company, case when not is_company then customer_name end,
        case when is_company then customer_name end,
        null, null, email, phone, null,
        tax_id, null,
        street, postcode, city, country, null, created_at, updated_at
    from erp_customers
    union all
    select 'webshop', 'users', user_id, 3,
        false, nullif({{ full_name }}, ''), null,
        first_name, last_name, email, phone, null,
        null, null,
        street, postcode, city, country, null, created_at, updated_at
    from users
    union all
    select 'subscriptions', 'subscribers', subscriber_id, 4,
        false, full_name, null,
        null, null, email, null, null,
        null, null,
        null, null, null, country, null, created_at, updated_at
    from subscribers
    union all
    select 'pos', 'loyalty_cards', card_no, 5,
        false, holder_name, null,
        null, null, email, phone, birth_date,
        null, card_no,
        null, postcode, null, null, null, {{ dbt.safe_cast('issued_date', dbt.type_timestamp()) }}, updated_at
    from loyalty_cards
    union all
    select 'support', 'tickets', ticket_id, 6,
        false, requester_name, null,
        null, null, requester_email, requester_phone, null,
        null, null,
        null, null, null, null, null, opened_at, updated_at
    from tickets
),

final as (
    select
        {{ dbt.concat(["system", "':'", "entity", "':'", "source_id"]) }} as record_key,
        *,
        {{ name_key('person_name') }} as name_key,
        {{ dbt.split_part(name_key('coalesce(given_name, person_name)'), "' '", 1) }} as given_name_key,
        {{ dbt.split_part(name_key('coalesce(family_name, person_name)'), "' '", -1) }} as family_name_key,
        {{ email_match_key('email') }} as email_key
    from unioned
)

select * from final
