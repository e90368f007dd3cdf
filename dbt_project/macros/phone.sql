{#- Phone numbers to E.164 (+<country code><number>); null when it cannot be resolved.
    National numbers (leading 0) take the calling code of the record's country. -#}

{% macro calling_code(country) -%}
    case {{ country }}
        when 'DE' then '49' when 'AT' then '43' when 'CH' then '41' when 'FR' then '33'
        when 'NL' then '31' when 'BE' then '32' when 'LU' then '352' when 'IT' then '39'
        when 'ES' then '34' when 'PT' then '351' when 'GB' then '44' when 'IE' then '353'
        when 'DK' then '45' when 'SE' then '46' when 'NO' then '47' when 'FI' then '358'
        when 'PL' then '48' when 'CZ' then '420' when 'US' then '1' when 'CA' then '1'
    end
{%- endmacro %}

{% macro normalize_phone(column, country="null") -%}
    {%- set digits = regex_replace_all("replace(" ~ column ~ ", '(0)', '')", '[^0-9+]', '') -%}
    {%- set e164 -%}
        case
            when {{ digits }} like '+%' then {{ dbt.concat(["'+'", "replace(" ~ digits ~ ", '+', '')"]) }}
            when {{ digits }} like '00%' then {{ dbt.concat(["'+'", "substr(" ~ digits ~ ", 3)"]) }}
            when {{ digits }} like '0%'
                then {{ dbt.concat(["'+'", calling_code(country), "substr(" ~ digits ~ ", 2)"]) }}
        end
    {%- endset -%}
    case when length({{ e164 }}) between 8 and 16 then {{ e164 }} end
{%- endmacro %}
