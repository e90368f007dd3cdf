{#- The staging column mapping of each entity that arrives both as delivered files and from a live
    database (sources/live/): rename, cast, normalise. The file model (stg_crm__accounts), its
    live twin (stg_crm_live__accounts) and the live history (int_crm_live__account_history) select
    through the same macro, so a record reads the same whichever way it came. Lineage columns are
    the caller's. -#}

{% macro crm_account_columns() -%}
        account_id,
        lower(trim(account_type)) as account_type,
        {{ clean_name('account_name') }} as account_name,
        {{ normalize_tax_id('tax_id') }} as tax_id,
        {{ clean_text('industry') }} as industry,
        {{ iso_code('country') }} as country,
        spend_potential,
        {{ iso_code('spend_potential_currency') }} as spend_potential_currency,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at
{%- endmacro %}

{% macro crm_contact_columns() -%}
        contact_id,
        account_id,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone', iso_code('country')) }} as phone,
        date_of_birth as birth_date,
        {{ clean_name('street') }} as street,
        upper({{ clean_text('postcode') }}) as postcode,
        {{ clean_name('city') }} as city,
        {{ iso_code('country') }} as country,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at
{%- endmacro %}

{% macro erp_customer_columns() -%}
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
        {{ to_utc('updated_at') }} as updated_at
{%- endmacro %}

{% macro erp_invoice_columns() -%}
        invoice_no,
        customer_no,
        invoice_date,
        {{ iso_code('currency') }} as currency,
        total_amount,
        webshop_order_id,
        lower(trim(status)) as status,
        {{ to_utc('updated_at') }} as updated_at
{%- endmacro %}
