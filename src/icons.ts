import { LabIcon } from '@jupyterlab/ui-components';

// A globe with a satellite orbit; jp-icon3 follows the light and dark themes.
const EO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 4a8 8 0 1 0 0 16a8 8 0 0 0 0-16zm0 1.6c.9 0 2.1 1.7 2.6 4.6H9.4C9.9 7.3 11.1 5.6 12 5.6zm-2.3.5c-.6 1.1-1 2.5-1.3 4.1H6.1a6.4 6.4 0 0 1 3.6-4.1zm4.6 0a6.4 6.4 0 0 1 3.6 4.1h-2.3c-.3-1.6-.7-3-1.3-4.1zM5.7 11.8h2.6a17 17 0 0 0 0 .4c0 .6 0 1.2.1 1.8H5.8a6.4 6.4 0 0 1-.1-2.2zm4.3 0h4a15 15 0 0 1 0 2.2h-4a15 15 0 0 1 0-2.2zm5.6 0h2.7a6.4 6.4 0 0 1-.1 2.2h-2.6a17 17 0 0 0 0-2.2zM6.3 15.6h2.2c.3 1.3.7 2.4 1.2 3.3a6.4 6.4 0 0 1-3.4-3.3zm3.8 0h3.8c-.5 2-1.3 2.8-1.9 2.8s-1.4-.8-1.9-2.8zm5.4 0h2.2a6.4 6.4 0 0 1-3.4 3.3c.5-.9.9-2 1.2-3.3z"/>
    <path d="M19.5 2.2l2.3 2.3-1.4 1.4-2.3-2.3zM17.4 5.7l1 1-1.6 1.6-1-1z"/>
  </g>
</svg>`;

export const eoIcon = new LabIcon({ name: 'eo_jlab:eo', svgstr: EO_SVG });
