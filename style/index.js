import './base.css';
import 'ol/ol.css';
