{#- The single customer view: the golden record (int_customers__golden_records, kept
    incrementally per customer) with the as-of figures: the customer's totals, CRM opt-outs and
    marketing unsubscribes. -#}
with golden as (select * from {{ ref('int_customers__golden_records') }}),
records as (select * from {{ ref('int_identity__source_records') }}),
identities as (select * from {{ ref('int_identity__customers') }}),
preferences as (select * from {{ ref('stg_crm__contact_preferences') }}),
campaign_events as (select * from {{ ref('stg_marketing__campaign_events') }}),
totals as (select * from {{ ref('int_revenue__customer_totals') }}),

members as (
    select identities.customer_id, records.entity, records.source_id, records.email_key
    from records
    inner join identities on records.record_key = identities.record_key
),

crm_opt_outs as (
    select
        members.customer_id,
        {% for channel in ['email', 'phone', 'post', 'sms'] %}
        max(case when preferences.channel = '{{ channel }}' and not preferences.is_opted_in
            then 1 else 0 end) = 1 as is_{{ channel }}_opted_out{{ ',' if not loop.last }}
        {% endfor %}
    from preferences
    inner join members
        on members.entity = 'contacts' and members.source_id = preferences.contact_id
    group by members.customer_id
),

unsubscribes as (
    select distinct members.customer_id
    from campaign_events
    inner join members on {{ email_match_key('campaign_events.email') }} = members.email_key
    where campaign_events.event_type = 'unsubscribe'
),

final as (
    select
        golden.customer_id,
        coalesce(case when golden.is_business then golden.company_name end,
            golden.person_name, golden.company_name) as customer_name,
        case when golden.is_business then 'B2B' else 'B2C' end as customer_segment,
        case
            when totals.is_core_customer then 'high'
            when totals.lifetime_revenue > 0 then 'medium'
            else 'low'
        end as value_segment,
        golden.person_name, golden.company_name, golden.given_name, golden.family_name,
        golden.email, golden.phone, golden.birth_date, golden.tax_id,
        golden.street, golden.postcode, golden.city, golden.country,
        golden.source_systems, golden.source_record_count,
        golden.first_seen_at,
        greatest(golden.last_updated_at,
            coalesce({{ dbt.safe_cast('totals.last_purchase_date', dbt.type_timestamp()) }},
                golden.last_updated_at)) as last_seen_at,
        totals.first_purchase_date,
        totals.last_purchase_date,
        coalesce(crm_opt_outs.is_email_opted_out, false) or unsubscribes.customer_id is not null
            as is_email_opted_out,
        coalesce(crm_opt_outs.is_phone_opted_out, false) as is_phone_opted_out,
        coalesce(crm_opt_outs.is_post_opted_out, false) as is_post_opted_out,
        coalesce(crm_opt_outs.is_sms_opted_out, false) as is_sms_opted_out,
        unsubscribes.customer_id is not null as has_unsubscribed_from_marketing,
        golden.last_updated_at,
        golden.last_updated_system
    from golden
    left join totals on golden.customer_id = totals.customer_id
    left join crm_opt_outs on golden.customer_id = crm_opt_outs.customer_id
    left join unsubscribes on golden.customer_id = unsubscribes.customer_id
)

select * from final
