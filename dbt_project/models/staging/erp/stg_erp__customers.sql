{#- Billing customers (bill-to parties). One row per customer_no: the latest delivered version. -#}
with source as (
    select * from {{ source('erp', 'customers') }}
),

versions as (
    select
        *,
        {{ version_rank(['customer_no'], 'updated_at') }} as version_rank
    from source
),

final as (
    select
        customer_no,
        {{ clean_name('customer_name') }} as customer_name,
        is_company,
        {{ normalize_tax_id('tax_id') }} as tax_id,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone', iso_code('country')) }} as phone,
        {{ clean_name('street') }} as street,
        upper({{ clean_text('postcode') }}) as postcode,
        {{ clean_name('city') }} as city,
        {{ iso_code('country') }} as country,
        {{ iso_code('currency') }} as currency,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from versions
    where version_rank = 1
)

select * from final
